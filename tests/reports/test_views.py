from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Account
from crm.models import User
from inbox.models import Conversation, Label, Message
from tests.reports.timeline import Chat

pytestmark = pytest.mark.django_db


def _named(make_account, name):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name=name)
    return account


@pytest.fixture
def granted(make_account, operator):
    account = _named(make_account, "Sales One")
    account.operators.add(operator)
    return account


@pytest.fixture
def hidden(make_account):
    return _named(make_account, "Hidden Desk")


def _csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for url in (reverse("reports:index"), reverse("reports:chart"), reverse("reports:csv", args=["team"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_operators_see_only_the_accounts_granted_to_them(operator_client, granted, hidden):
    now = datetime.now(UTC)
    Chat(granted, telegram_id=901).inbound(now - timedelta(hours=1))
    Chat(hidden, telegram_id=902).inbound(now - timedelta(hours=1))

    page = operator_client.get(reverse("reports:index")).content.decode()
    rows = _csv(operator_client.get(reverse("reports:csv", args=["team"])))

    assert "Sales One" in page and "Hidden Desk" not in page
    assert [r["Name"] for r in rows] == ["Sales One"]


def test_admins_see_every_account(admin_client, granted, hidden):
    now = datetime.now(UTC)
    Chat(granted, telegram_id=903).inbound(now - timedelta(hours=1))
    Chat(hidden, telegram_id=904).inbound(now - timedelta(hours=1))

    rows = _csv(admin_client.get(reverse("reports:csv", args=["team"])))

    assert sorted(r["Name"] for r in rows) == ["Hidden Desk", "Sales One"]


def test_an_unknown_table_is_not_found(admin_client):
    assert admin_client.get(reverse("reports:csv", args=["secrets"])).status_code == 404


def test_htmx_switches_return_only_the_report_fragment(admin_client, granted):
    response = admin_client.get(reverse("reports:index") + "?range=30d", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="report">') and "<html" not in body
    assert re.search(r'<a [^>]*aria-current="true" data-range="30d"', body)


def test_the_chart_fragment_carries_its_data_as_json_not_as_script(admin_client, granted, admin_user):
    now = datetime.now(UTC)
    chat = Chat(granted, telegram_id=905)
    chat.inbound(now - timedelta(minutes=30))
    chat.human(now - timedelta(minutes=27), by=admin_user)  # 3 min: the first bucket

    body = admin_client.get(reverse("reports:chart")).content.decode()

    assert '<script id="response-histogram-data" type="application/json">' in body
    assert '"first_response": [1, 0, 0, 0, 0, 0]' in body
    assert "<script>" not in body


def test_cards_tables_and_csv_agree_on_random_data(admin_client, make_account, admin_user):
    rng = random.Random(14)
    now = datetime.now(UTC)
    accounts = [_named(make_account, f"Desk {n}") for n in range(3)]
    operators = [admin_user, User.objects.create_user("ivy", password="pw-ivy-12345", role="operator")]
    for n in range(40):
        chat = Chat(rng.choice(accounts), telegram_id=10_000 + n)
        moment = now - timedelta(days=rng.uniform(0, 12))  # some fall outside the 7-day range
        for _ in range(rng.randint(1, 4)):
            chat.inbound(moment)
            moment += timedelta(seconds=rng.randint(5, 20_000))
            if moment >= now:
                break
            if rng.random() < 0.3:
                chat.automated(moment)
            elif rng.random() < 0.8:
                chat.human(moment, by=rng.choice(operators))
            moment += timedelta(seconds=rng.randint(5, 5000))
            if moment >= now:
                break

    label = Label.objects.create(name="vip")
    for n, conversation in enumerate(Conversation.objects.order_by("pk")):
        if n % 3:
            Conversation.objects.filter(pk=conversation.pk).update(assignee=operators[n % 2])
        if n % 4 == 0:
            conversation.labels.add(label)

    page = admin_client.get(reverse("reports:index") + "?range=7d")
    cards = page.context["cards"]
    # Grouped by operator the cards are summed from the table's own rows, by label from per-account
    # counts read apart: the same cards either way.
    for by in ("operator", "label"):
        assert admin_client.get(reverse("reports:index") + f"?range=7d&by={by}").context["cards"] == cards
    table = page.context["team"]
    exported = _csv(admin_client.get(reverse("reports:csv", args=["team"]) + "?range=7d&by=account"))

    week = Message.objects.filter(date__gte=now - timedelta(days=7))
    assert cards["inbound"] == week.filter(direction="in").count() > 0
    assert cards["outbound"] == week.filter(direction="out").count() > 0
    for card, column in [
        ("conversations", "Conversations"),
        ("inbound", "Inbound"),
        ("outbound", "Outbound"),
        ("first_responses", "First response count"),
        ("replies", "Reply time count"),
        ("automated_replies", "Automated replies"),
        ("open_now", "Open now"),
        ("unanswered_now", "Unanswered now"),
    ]:
        index = table.headers.index(column)
        assert cards[card] == sum(row[index] for row in table.rows) == sum(int(r[column]) for r in exported)
    histogram = _csv(admin_client.get(reverse("reports:csv", args=["histogram"]) + "?range=7d"))
    assert sum(int(r["First response"]) for r in histogram) == cards["first_responses"]
    assert sum(int(r["Reply time"]) for r in histogram) == cards["replies"]
