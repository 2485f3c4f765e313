"""Reports as read tools: the key's accounts only, and the same numbers as the console's CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Account
from tests.api.conftest import bearer
from tests.reports.timeline import Chat

pytestmark = pytest.mark.django_db


def _named(make_account, name):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name=name)
    return account


def test_the_team_report_covers_the_key_s_accounts_with_the_console_s_numbers(
    client, admin_client, make_account, make_key, admin_user
):
    mine, other = _named(make_account, "Keyed Desk"), _named(make_account, "Other Desk")
    now = datetime.now(UTC)
    chat = Chat(mine, telegram_id=951)
    chat.inbound(now - timedelta(hours=3))
    chat.human(now - timedelta(hours=2, minutes=50), by=admin_user)
    Chat(other, telegram_id=952).inbound(now - timedelta(hours=1))
    _, token = make_key([mine], scopes=["fleet:read"])

    report = client.get("/api/v1/reports/team?by=account&range=7d", **bearer(token)).json()
    console = list(
        csv.DictReader(io.StringIO(admin_client.get(reverse("reports:csv", args=["team"])).content.decode()))
    )

    rows = [dict(zip(report["columns"], row, strict=True)) for row in report["rows"]]
    assert [r["Name"] for r in rows] == ["Keyed Desk"]
    (mine_in_console,) = [r for r in console if r["Name"] == "Keyed Desk"]
    assert rows[0]["Inbound"] == int(mine_in_console["Inbound"]) == 1
    assert rows[0]["First response median"] == pytest.approx(600, abs=1)
    funnel = client.get("/api/v1/reports/funnel?by=campaign", **bearer(token))
    assert funnel.status_code == 200 and funnel.json()["rows"] == []
    assert client.get("/api/v1/reports/team?by=nothing", **bearer(token)).status_code == 400
