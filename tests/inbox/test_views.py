from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from inbox.models import CannedReply, Conversation, Label, Message, Note
from tests.support.inbox import conversation_make


@pytest.fixture
def granted(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Sales One")
    account.operators.add(operator)
    return account


@pytest.fixture
def other(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Hidden Desk")
    return account


@pytest.fixture
def mine(granted):
    return conversation_make(
        granted, title="Alice Buyer", peer_id=1001, texts=("Hello there", "Is it free?"), unread=2
    )


@pytest.fixture
def theirs(other):
    return conversation_make(other, title="Secret Sam", peer_id=2002, texts=("Classified",), unread=1)


def test_operators_see_only_conversations_of_accounts_granted_to_them(operator_client, mine, theirs):
    page = operator_client.get(reverse("inbox:index")).content.decode()
    assert "Alice Buyer" in page and "Is it free?" in page
    assert "Secret Sam" not in page and "Hidden Desk" not in page


def test_admins_see_every_account(admin_client, mine, theirs):
    page = admin_client.get(reverse("inbox:index")).content.decode()
    assert "Alice Buyer" in page and "Secret Sam" in page


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("conversation", "get"),
        ("history", "get"),
        ("reply", "post"),
        ("state", "post"),
        ("assign", "post"),
        ("labels", "post"),
        ("note", "post"),
    ],
)
def test_a_direct_url_to_another_accounts_conversation_is_a_404(operator_client, theirs, name, method):
    url = reverse(f"inbox:{name}", args=[theirs.pk])
    response = getattr(operator_client, method)(url, {"text": "hi", "action": "close"})
    assert response.status_code == 404
    assert not theirs.messages.filter(direction="out").exists()
    assert Conversation.objects.get(pk=theirs.pk).state == "open"


def test_the_outsider_cannot_retry_someone_elses_reply(client, outsider, mine):
    client.force_login(outsider)
    reply = Message.objects.create(
        conversation=mine, direction="out", text="x", delivery="failed", random_id=7
    )
    assert client.post(reverse("inbox:retry", args=[mine.pk, reply.pk])).status_code == 404


def test_opening_a_conversation_shows_its_history_and_marks_it_read(operator_client, mine):
    page = operator_client.get(reverse("inbox:conversation", args=[mine.pk])).content.decode()
    assert "Hello there" in page and "Reply as Sales One" in page
    assert Conversation.objects.get(pk=mine.pk).unread_count == 0


def test_the_list_filters_by_unread_assignment_label_kind_and_account(
    operator_client, operator, granted, mine
):
    quiet = conversation_make(
        granted, title="Quiet Group", peer_id=-1000000000123, kind="group", texts=("ok",)
    )
    hot = Label.objects.create(name="hot", color="#c0392b")
    quiet.labels.add(hot)
    Conversation.objects.filter(pk=mine.pk).update(assignee=operator)

    def titles(**query):
        html = operator_client.get(reverse("inbox:index"), query).content.decode()
        return [t for t in ("Alice Buyer", "Quiet Group") if t in html]

    assert titles() == ["Alice Buyer", "Quiet Group"]
    assert titles(unread="1") == ["Alice Buyer"]
    assert titles(who="mine") == ["Alice Buyer"]
    assert titles(who="unassigned") == ["Quiet Group"]
    assert titles(label=hot.pk) == ["Quiet Group"]
    assert titles(kind="group") == ["Quiet Group"]
    assert titles(kind="private") == ["Alice Buyer"]
    assert titles(account=granted.pk) == ["Alice Buyer", "Quiet Group"]


def test_full_text_search_finds_conversations_by_what_was_said(operator_client, granted, mine):
    conversation_make(granted, title="Bob", peer_id=1003, texts=("The parking space is extra",))
    html = operator_client.get(reverse("inbox:index"), {"q": "parking"}).content.decode()
    assert "Bob" in html and "Alice Buyer" not in html


def test_the_list_pages_newest_activity_first(operator_client, granted):
    now = timezone.now()
    for n in range(55):
        conversation_make(granted, title=f"Person {n:02d}", peer_id=5000 + n, texts=("hi",))
        Conversation.objects.filter(peer_id=5000 + n).update(last_message_at=now - timedelta(minutes=n))
    first = operator_client.get(reverse("inbox:index")).content.decode()
    assert first.index("Person 00") < first.index("Person 01") and "Person 52" not in first
    second = operator_client.get(reverse("inbox:index"), {"page": 2}).content.decode()
    assert "Person 52" in second and "Person 00" not in second


def test_a_reply_is_stored_pending_and_says_when_a_flood_wait_holds_it(operator_client, granted, mine):
    Account.objects.filter(pk=granted.pk).update(cooldown_until=timezone.now() + timedelta(seconds=42))
    response = operator_client.post(
        reverse("inbox:reply", args=[mine.pk]), {"text": "On my way"}, HTTP_HX_REQUEST="true"
    )
    reply = mine.messages.get(direction="out")
    assert reply.delivery == "pending" and reply.random_id and reply.text == "On my way"
    assert (
        "queued — sending in 42 s" in response.content.decode()
        or "queued — sending in 41 s" in response.content.decode()
    )


def test_a_canned_shortcut_expands_to_its_text(operator_client, mine):
    CannedReply.objects.create(shortcut="price", text="It is 1,200 a month, bills included.")
    operator_client.post(reverse("inbox:reply", args=[mine.pk]), {"text": "/price"})
    assert mine.messages.get(direction="out").text == "It is 1,200 a month, bills included."


def test_an_empty_reply_is_refused_in_plain_words(operator_client, mine):
    response = operator_client.post(
        reverse("inbox:reply", args=[mine.pk]), {"text": "  "}, HTTP_HX_REQUEST="true"
    )
    assert "Write something to send" in response.content.decode()
    without_js = operator_client.post(reverse("inbox:reply", args=[mine.pk]), {"text": "  "}, follow=True)
    assert "Write something to send" in without_js.content.decode()
    assert not mine.messages.filter(direction="out").exists()


def test_close_snooze_and_reopen(operator_client, mine):
    url = reverse("inbox:state", args=[mine.pk])
    operator_client.post(url, {"action": "close"})
    assert Conversation.objects.get(pk=mine.pk).state == "closed"
    operator_client.post(url, {"action": "1h"})
    snoozed = Conversation.objects.get(pk=mine.pk)
    assert snoozed.state == "snoozed" and snoozed.snoozed_until > timezone.now() + timedelta(minutes=59)
    operator_client.post(url, {"action": "reopen"})
    assert Conversation.objects.get(pk=mine.pk).state == "open"


def test_assignment_labels_and_notes(operator_client, operator, mine):
    hot = Label.objects.create(name="hot")
    operator_client.post(reverse("inbox:assign", args=[mine.pk]), {"assignee": operator.pk})
    operator_client.post(reverse("inbox:labels", args=[mine.pk]), {"labels": [hot.pk]})
    operator_client.post(reverse("inbox:note", args=[mine.pk]), {"text": "Wants a viewing on Friday"})
    mine.refresh_from_db()
    assert mine.assignee == operator and list(mine.labels.all()) == [hot]
    assert Note.objects.get(conversation=mine).text == "Wants a viewing on Friday"


def test_an_operator_cannot_assign_someone_without_access(operator_client, outsider, mine):
    operator_client.post(reverse("inbox:assign", args=[mine.pk]), {"assignee": outsider.pk})
    assert Conversation.objects.get(pk=mine.pk).assignee is None


def test_the_live_poll_answers_204_until_something_visible_changes(
    operator_client, granted, other, mine, django_capture_on_commit_callbacks
):
    from inbox import live

    first = operator_client.get(reverse("inbox:poll"), {"v": "x"})
    assert first.status_code == 200 and first["HX-Trigger"] == "inbox:changed"
    version = first.content.decode().split("v=")[1].split('"')[0]
    assert operator_client.get(reverse("inbox:poll"), {"v": version}).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):  # bumps count once their change commits
        live.bump([other.pk])  # not granted: nothing this operator can see changed
    assert operator_client.get(reverse("inbox:poll"), {"v": version}).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        live.bump([granted.pk])
    assert operator_client.get(reverse("inbox:poll"), {"v": version}).status_code == 200
