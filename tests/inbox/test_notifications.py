"""Notifications (inbox.notify): mentions in notes, messages in my conversations, preferences, reading
them, the unread count, and the push on the user's notify channel."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from accounts.models import Account
from crm import live
from crm.models import User
from inbox import notify, services, signals, store
from inbox.models import Conversation, Message, Notification
from inbox.records import Batch
from tests.support.inbox import conversation_make


@pytest.fixture
def granted(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    return account


@pytest.fixture
def mine(granted):
    return conversation_make(granted, title="Alice Buyer", peer_id=1001, texts=("Hello",))


@pytest.fixture
def colleague(granted):
    user = User.objects.create_user("bea.k", password="pw-bea-1", role=User.Role.OPERATOR)
    granted.operators.add(user)
    return user


def _note(conversation, by, text):
    return services.note_add(conversation=conversation, text=text, by=by)


def test_a_mention_notifies_a_colleague_who_sees_the_conversation(mine, operator, colleague):
    _note(mine, operator, "@bea.k can you ring her back?")
    note = Notification.objects.get()
    assert (note.user, note.kind, note.conversation) == (colleague, "mention", mine)
    assert "otto mentioned you" in note.text


def test_a_mention_is_case_insensitive_and_ignores_a_trailing_full_stop(mine, operator, colleague):
    _note(mine, operator, "Ask @Bea.K.")
    assert Notification.objects.filter(user=colleague).count() == 1


def test_no_mention_for_users_who_cannot_see_it_for_oneself_or_for_nobody(
    mine, operator, outsider, colleague
):
    colleague.is_active = False
    colleague.save()
    _note(mine, operator, "@olga @otto @bea.k @nobody email@olga.example")
    assert not Notification.objects.exists()


def test_admins_see_everything_so_they_can_be_mentioned(mine, operator, admin_user):
    _note(mine, operator, "@ada please look")
    assert Notification.objects.get().user == admin_user


def test_one_mention_per_user_however_often_named(mine, operator, colleague):
    _note(mine, operator, "@bea.k @bea.k @BEA.K")
    assert Notification.objects.count() == 1


def test_a_failed_note_notifies_nobody(mine, operator, colleague):
    with pytest.raises(ValueError):
        _note(mine, operator, "@bea.k \x00")
    assert not Notification.objects.exists()


def test_a_new_message_notifies_the_assignee_only(mine, operator, colleague):
    message = Message.objects.create(conversation=mine, telegram_id=9, direction="in", text="Still free?")
    signals.messages_stored.send(sender=None, received=[message.pk])
    assert not Notification.objects.exists()  # nobody assigned
    services.conversation_assign(conversation=mine, assignee=colleague, by=operator)
    signals.messages_stored.send(sender=None, received=[message.pk])
    note = Notification.objects.get(kind="message")
    assert note.user == colleague
    assert "Still free?" in note.text


def test_preferences_turn_kinds_off(mine, operator, colleague):
    notify.prefs_save(
        user=colleague, messages=False, mentions=False, tasks_due=True, browser=False, zone="", assigned=False
    )
    _note(mine, operator, "@bea.k hi")
    services.conversation_assign(conversation=mine, assignee=colleague, by=operator)
    message = Message.objects.create(conversation=mine, telegram_id=9, direction="in", text="Hi")
    signals.messages_stored.send(sender=None, received=[message.pk])
    assert not Notification.objects.exists()


def test_a_time_zone_must_exist(operator):
    with pytest.raises(ValueError, match="time zone"):
        notify.prefs_save(
            user=operator, messages=True, mentions=True, tasks_due=True, browser=True, zone="Mars/Olympus"
        )
    assert notify.prefs_get(user=operator).zone().key == settings.TIME_ZONE


def test_a_notification_is_pushed_on_the_users_notify_channel_after_commit(
    mine, operator, colleague, django_capture_on_commit_callbacks
):
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.user_notify_channel(colleague.pk))
    pubsub.get_message(timeout=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _note(mine, operator, "@bea.k look")
    assert pubsub.get_message(timeout=0.5) is None  # nothing before the commit
    for callback in callbacks:
        callback()
    got = pubsub.get_message(timeout=5)
    assert got is not None and json.loads(got["data"])["event"] == "notify"
    pubsub.close()


def test_the_unread_count_the_list_and_marking_read(client, mine, operator, colleague, outsider):
    _note(mine, operator, "@bea.k first")
    _note(mine, operator, "@bea.k second")
    first, second = Notification.objects.order_by("id")
    client.force_login(colleague)
    body = client.get(reverse("inbox:notifications_unread"), {"after": str(first.pk)}).json()
    assert body["count"] == 2 and [n["id"] for n in body["new"]] == [second.pk]
    assert body["new"][0]["url"] == reverse("inbox:conversation", args=[mine.pk])
    page = client.get(reverse("inbox:notifications")).content.decode()
    assert "second" in page and 'id="notify-count"' in page
    client.post(reverse("inbox:notification_read", args=[first.pk]))
    assert client.get(reverse("inbox:notifications_unread")).json()["count"] == 1
    client.post(reverse("inbox:notifications_read_all"))
    assert client.get(reverse("inbox:notifications_unread")).json()["count"] == 0
    # someone else's notification: not theirs to mark
    client.force_login(outsider)
    assert client.post(reverse("inbox:notification_read", args=[second.pk])).status_code == 403
    assert client.get(reverse("inbox:notifications_unread"), {"after": "0"}).json() == {
        "count": 0,
        "browser": True,
        "latest": 0,
        "new": [],
    }


def test_preferences_page_saves_and_explains_a_bad_zone(operator_client, operator):
    url = reverse("inbox:preferences")
    bad = operator_client.post(url, {"messages": "on", "timezone": "Nowhere/Else\x00"})
    assert bad.status_code == 400 and "Choose a time zone" in bad.content.decode()
    ok = operator_client.post(url, {"mentions": "on", "timezone": "Europe/Berlin"})
    assert ok.status_code == 302
    prefs = notify.prefs_get(user=operator)
    assert (prefs.messages, prefs.mentions, prefs.tasks_due, prefs.browser, prefs.timezone) == (
        False,
        True,
        False,
        False,
        "Europe/Berlin",
    )


@pytest.mark.parametrize("after", ["-1", "abc", "1" * 30, "1\x00", ""])
def test_a_hostile_after_gives_the_count_and_nothing_else(operator_client, after):
    body = operator_client.get(reverse("inbox:notifications_unread"), {"after": after}).json()
    assert body == {"count": 0, "browser": True, "latest": 0, "new": []}


def test_the_stream_needs_an_asgi_server(operator_client):
    # Under WSGI (the test client) no stream can be held: 204 tells the browser not to reconnect.
    assert operator_client.get(reverse("inbox:notifications_stream")).status_code == 204


def test_the_top_bar_counts_only_my_unread_notifications(client, mine, operator, colleague):
    _note(mine, operator, "@bea.k one")
    _note(mine, colleague, "@otto two")
    client.force_login(colleague)
    page = client.get(reverse("inbox:tasks")).content.decode()
    assert 'data-count="1"' in page
    notify.notifications_read_all(user=colleague)
    assert 'data-count="0"' in client.get(reverse("inbox:tasks")).content.decode()


def test_ingestion_notifies_the_assignee_once_per_new_message_batch(granted, operator):
    """Through the real store (as a session host stores what arrives): a new message in a conversation
    assigned to me notifies me; the same batch seen again (a catch-up) does not notify twice."""
    from tests.inbox.test_store import private

    store.ingest(Batch(messages=[private(granted, 1, "hi")]))
    convo = Conversation.objects.get(account=granted)
    assert not Notification.objects.exists()  # unassigned: nobody to tell
    services.conversation_assign(conversation=convo, assignee=operator, by=operator)
    batch = Batch(messages=[private(granted, 2, "Is it still free?"), private(granted, 3, "Call me")])
    store.ingest(batch)
    store.ingest(batch)
    note = Notification.objects.get()
    assert (note.user, note.kind, note.conversation) == (operator, "message", convo)
    assert note.text == "Alice: Call me"


def test_a_notification_that_cannot_be_written_never_holds_back_the_messages(granted, operator, monkeypatch):
    """The receiver runs inside the ingestion transaction: whatever breaks in it, the messages are stored
    (a session host would otherwise retry the same batch for ever)."""
    from tests.inbox.test_store import private

    store.ingest(Batch(messages=[private(granted, 1, "hi")]))
    convo = Conversation.objects.get(account=granted)
    services.conversation_assign(conversation=convo, assignee=operator, by=operator)

    def broken(**_):
        Notification.objects.create(user_id=operator.pk, kind="no-such-kind" * 100, text="x")  # too long

    monkeypatch.setattr(notify, "notify", broken)
    store.ingest(Batch(messages=[private(granted, 2, "Still there?")]))
    assert convo.messages.filter(text="Still there?").exists()
    assert not Notification.objects.exists()


def test_a_conversation_given_by_someone_else_notifies_the_new_assignee_once(mine, operator, colleague):
    services.conversation_assign(conversation=mine, assignee=colleague, by=operator)
    services.conversation_assign(conversation=mine, assignee=colleague, by=operator)  # again: nothing new
    note = Notification.objects.get()
    assert (note.user, note.kind, note.conversation) == (colleague, "assigned", mine)
    assert note.text == "otto assigned you Alice Buyer: Hello"
    services.conversation_assign(conversation=mine, assignee=operator, by=operator)  # took it himself
    services.conversation_assign(conversation=mine, assignee=None, by=operator)
    assert Notification.objects.count() == 1


def test_an_assignment_through_the_api_names_no_person(mine, colleague):
    services.conversation_assign(conversation=mine, assignee=colleague, by=None)
    assert Notification.objects.get().text.startswith("Someone assigned you Alice Buyer")
