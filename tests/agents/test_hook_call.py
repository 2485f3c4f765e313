"""The agent hook's call for one admitted message, against a real local HTTP hook (no Telegram needed:
messages are written to the database; the reply is queued for the account's host, which is not
running). tests/agents/test_end_to_end.py drives the same path through tgsim and real workers."""

from __future__ import annotations

import itertools
import json
import logging

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from accounts.models import Account
from agents import services
from agents.models import AgentHook, HookCall
from agents.services import HookSettings, message_answer
from inbox.models import Contact, Conversation, Message
from inbox.services import conversation_set_automation
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db

_peers = itertools.count(7_000_001)


def settings_for(url: str, **overrides) -> HookSettings:
    values = dict(
        url=url, enabled=True, timeout=5, context_size=20, per_peer_per_minute=3, per_peer_per_hour=30
    )
    values.update(overrides)
    return HookSettings(**values)


@pytest.fixture
def account(make_account):
    return make_account(status=Account.Status.ACTIVE)


@pytest.fixture
def hook(account, hook_server, admin_user):
    made, secret = services.hook_save(account=account, values=settings_for(hook_server.url), by=admin_user)
    hook_server.secret = secret
    return made


def chat(account, *texts: str, kind: str = "private") -> Conversation:
    return conversation_make(account, title="Erin", peer_id=next(_peers), kind=kind, texts=texts)


def inbound(conversation: Conversation, text: str, *, sender: Contact | None = None) -> Message:
    top = (
        conversation.messages.filter(telegram_id__isnull=False)
        .order_by("-telegram_id")
        .values_list("telegram_id", flat=True)
        .first()
        or 0
    )
    return Message.objects.create(
        conversation=conversation, telegram_id=top + 1, direction="in", text=text, sender=sender
    )


def agent_replies(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(automation="agent").order_by("id"))


def test_the_event_is_signed_and_carries_the_message_and_its_context_oldest_first(account, hook, hook_server):
    conversation = chat(account, "one", "two", "three")
    message = inbound(conversation, "How much is it?")
    hook.context_size = 2
    hook.save()

    call = message_answer(message_id=message.pk)

    assert call.outcome == HookCall.Outcome.NO_REPLY and call.status_code == 204
    [received] = hook_server.received
    assert received.verified  # the receiver checked it with standardwebhooks and the shown secret
    assert received.headers["webhook-id"] == call.webhook_id == f"msg_agent_{message.pk}"
    payload = received.payload
    assert payload["type"] == "message.received"
    data = payload["data"]
    assert data["account"]["id"] == account.pk
    assert data["conversation"] == {
        "id": conversation.pk,
        "peer_id": conversation.peer_id,
        "kind": "private",
        "title": "Erin",
        "username": "",
    }
    assert data["message"]["text"] == "How much is it?" and data["message"]["id"] == message.pk
    assert data["message"]["sender"]["telegram_id"] == conversation.peer_id
    assert [m["text"] for m in data["context"]] == ["two", "three"]
    assert all(m["direction"] == "in" and m["automated"] is False for m in data["context"])


def test_a_signature_made_with_another_secret_does_not_verify(account, hook, hook_server):
    message = inbound(chat(account), "hi")
    message_answer(message_id=message.pk)
    [received] = hook_server.received
    other = services.secret_new()
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(other).verify(received.body, received.headers)


def test_an_answer_goes_out_once_as_an_agent_reply_with_a_random_id_from_the_webhook_id(
    account, hook, hook_server
):
    conversation = chat(account, "Hello")
    message = inbound(conversation, "Do you ship to Lisbon?")
    hook_server.reply("Yes, in 3 days.", reply_to=message.telegram_id)

    call = message_answer(message_id=message.pk)
    again = message_answer(message_id=message.pk)  # a redelivered task, a duplicate signal

    assert call.outcome == HookCall.Outcome.REPLIED and call.replied
    assert again is None and len(hook_server.received) == 1
    [reply] = agent_replies(conversation)
    assert reply.text == "Yes, in 3 days." and reply.reply_to_id == message.telegram_id
    assert reply.direction == "out" and reply.delivery == "pending" and reply.sent_by is None
    assert reply.random_id == services.random_id_for(call.webhook_id)
    assert call.reply == reply


def test_the_same_answer_handled_twice_is_one_reply(account, hook, hook_server):
    """Even past the claim (a row reset by hand), the random_id derived from the webhook id dedupes."""
    conversation = chat(account)
    message = inbound(conversation, "?")
    hook_server.reply("Once.")
    call = message_answer(message_id=message.pk)
    HookCall.objects.filter(pk=call.pk).delete()
    message_answer(message_id=message.pk)
    assert len(hook_server.received) == 2 and len(agent_replies(conversation)) == 1


def test_a_hook_that_times_out_sends_nothing_and_is_never_called_again(account, hook, hook_server):
    hook.timeout = 1
    hook.save()
    hook_server.answer = lambda payload: (200, b'{"text": "too late"}', 2.5)
    conversation = chat(account)
    message = inbound(conversation, "Anyone?")

    call = message_answer(message_id=message.pk)

    assert call.outcome == HookCall.Outcome.TIMED_OUT and call.reason == "The hook did not answer in time"
    assert 900 <= call.duration_ms < 2400
    assert message_answer(message_id=message.pk) is None
    assert len(hook_server.received) == 1 and agent_replies(conversation) == []


@pytest.mark.parametrize(
    ("status", "body", "outcome", "reason"),
    [
        (200, b"not json", "bad_answer", "The answer is not JSON"),
        (200, b"[1, 2]", "bad_answer", "not a JSON object"),
        (200, b'{"reply": "hi"}', "bad_answer", 'no "text"'),
        (200, b'{"text": "   "}', "bad_answer", 'no "text"'),
        (200, b'{"text": 42}', "bad_answer", 'no "text"'),
        (200, json.dumps({"text": "x" * 4097}).encode(), "bad_answer", "at most 4,096"),
        (200, b'{"text": "a\\u0000b"}', "bad_answer", "NUL"),
        (200, b'{"text": "a\\ud800b"}', "bad_answer", "not valid Unicode"),
        (200, b'{"text": "ok", "reply_to": true}', "bad_answer", "reply_to"),
        (200, b'{"text": "ok", "reply_to": 99999999999999999999}', "bad_answer", "reply_to"),
        (200, b'{"text": "ok", "reply_to": "1"}', "bad_answer", "reply_to"),
        (200, b'{"text": "ok", "reply_to": 424242}', "bad_answer", "names no message of this conversation"),
        (200, b"\xff\xfe", "bad_answer", "not JSON"),
        (200, b'{"text": "' + b"y" * 70_000 + b'"}', "bad_answer", "larger than 65536 bytes"),
        (500, b'{"text": "oops"}', "failed", "The hook answered 500"),
        (302, b"", "failed", "The hook answered 302"),
        (410, b"", "failed", "The hook answered 410"),
    ],
)
def test_a_bad_answer_is_logged_with_a_plain_reason_and_nothing_is_sent(
    account, hook, hook_server, status, body, outcome, reason
):
    hook_server.raw(status, body)
    conversation = chat(account, "earlier")
    message = inbound(conversation, "question")

    call = message_answer(message_id=message.pk)

    assert call.outcome == outcome and reason in call.reason, call.reason
    assert call.status_code == status and not call.replied
    assert agent_replies(conversation) == []


def test_an_unreachable_hook_is_logged_as_failed(account, hook, hook_server):
    AgentHook.objects.filter(pk=hook.pk).update(url="http://127.0.0.1:9/hook")  # discard port: closed
    call = message_answer(message_id=inbound(chat(account), "hi").pk)
    assert call.outcome == HookCall.Outcome.FAILED
    assert call.reason in ("The hook refused the connection", "The hook could not be reached")


def test_the_per_peer_limit_stops_calls_and_says_so(account, hook, hook_server):
    hook.per_peer_per_minute = 2
    hook.save()
    hook_server.reply("Sure.")
    conversation = chat(account)
    calls = [message_answer(message_id=inbound(conversation, f"question {n}").pk) for n in range(4)]

    assert [c.outcome for c in calls] == ["replied", "replied", "limited", "limited"]
    assert calls[2].reason == "At most 2 automated replies a minute to this sender"
    assert len(hook_server.received) == 2 and len(agent_replies(conversation)) == 2
    # Another sender is not held by this one's limit.
    other = chat(account)
    assert message_answer(message_id=inbound(other, "me too").pk).outcome == "replied"


def test_the_hourly_per_peer_limit_counts_the_whole_hour(account, hook, hook_server):
    hook.per_peer_per_minute, hook.per_peer_per_hour = 5, 2
    hook.save()
    hook_server.reply("Sure.")
    conversation = chat(account)
    outcomes = [message_answer(message_id=inbound(conversation, f"q{n}").pk).outcome for n in range(3)]
    assert outcomes == ["replied", "replied", "limited"]


def test_no_reply_answers_do_not_spend_the_limit(account, hook, hook_server):
    hook.per_peer_per_minute = 1
    hook.save()
    conversation = chat(account)
    outcomes = [message_answer(message_id=inbound(conversation, f"q{n}").pk).outcome for n in range(3)]
    assert outcomes == ["no_reply", "no_reply", "no_reply"]


def test_a_group_conversation_has_a_hard_cap_whoever_writes(account, hook, hook_server, settings):
    settings.AGENT_HOOK_CONVERSATION_MAX_PER_HOUR = 3
    hook_server.reply("Hi all.")
    group = chat(account, kind="group")
    senders = [Contact.objects.create(telegram_id=next(_peers), first_name=f"M{n}") for n in range(5)]
    outcomes = [message_answer(message_id=inbound(group, "hey", sender=s).pk).outcome for s in senders]
    assert outcomes == ["replied", "replied", "replied", "limited", "limited"]
    assert HookCall.objects.filter(outcome="limited").first().reason == (
        "At most 3 automated replies an hour in one conversation"
    )


def test_a_paused_conversation_is_never_sent_to_the_hook(account, hook, hook_server, operator):
    conversation = chat(account)
    conversation_set_automation(conversation=conversation, paused=True, by=operator)
    assert message_answer(message_id=inbound(conversation, "hello?").pk) is None
    assert hook_server.received == [] and not HookCall.objects.exists()


@pytest.mark.django_db(transaction=True)  # the hook's thread writes through its own connection
def test_a_take_over_during_the_call_keeps_the_answer_unsent(account, hook, hook_server, operator):
    conversation = chat(account)

    def take_over_meanwhile(payload):
        Conversation.objects.filter(pk=conversation.pk).update(automation_paused=True)
        connection.close()  # this thread's own connection, or the test database cannot be dropped
        return 200, b'{"text": "I would have said this"}', 0.0

    hook_server.answer = take_over_meanwhile
    call = message_answer(message_id=inbound(conversation, "hello?").pk)
    assert (
        call.outcome == "not_sent" and call.reason == "An operator took the conversation over during the call"
    )
    assert agent_replies(conversation) == []


def test_the_accounts_own_messages_are_never_sent_to_the_hook(account, hook, hook_server):
    conversation = chat(account)
    own = Message.objects.create(conversation=conversation, telegram_id=50, direction="out", text="mine")
    assert message_answer(message_id=own.pk) is None
    assert hook_server.received == []


def test_messages_from_another_fleet_account_are_never_sent_to_the_hook(
    account, hook, hook_server, make_account
):
    other = make_account(status=Account.Status.ACTIVE)
    conversation = chat(account)
    Account.objects.filter(pk=other.pk).update(telegram_id=conversation.peer_id)
    assert message_answer(message_id=inbound(conversation, "ping from a sibling").pk) is None
    group = chat(account, kind="group")
    sibling = Contact.objects.create(telegram_id=conversation.peer_id, first_name="Sibling")
    assert message_answer(message_id=inbound(group, "ping", sender=sibling).pk) is None
    assert hook_server.received == []


def test_a_disabled_or_missing_hook_is_not_called(account, hook, hook_server, make_account):
    AgentHook.objects.filter(pk=hook.pk).update(enabled=False)
    assert message_answer(message_id=inbound(chat(account), "hi").pk) is None
    no_hook = make_account(status=Account.Status.ACTIVE)
    assert message_answer(message_id=inbound(chat(no_hook), "hi").pk) is None
    assert message_answer(message_id=987654321) is None
    assert hook_server.received == []


def test_a_call_left_calling_by_a_dead_worker_is_marked_interrupted_not_repeated(account, hook, hook_server):
    from datetime import timedelta

    from django.utils import timezone

    message = inbound(chat(account), "hi")
    HookCall.objects.create(
        hook=hook,
        webhook_id=services.webhook_id_for(message.pk),
        message=message,
        started_at=timezone.now() - timedelta(minutes=5),
    )
    assert message_answer(message_id=message.pk) is None
    assert hook_server.received == []
    call = HookCall.objects.get()
    assert call.outcome == "interrupted" and "not called again" in call.reason


def test_the_secret_is_sealed_rotates_and_never_reaches_the_logs(
    account, hook, hook_server, caplog, admin_user
):
    caplog.set_level(logging.DEBUG)
    old = hook_server.secret
    assert old.startswith("whsec_") and len(old) > 30
    assert old.encode() not in bytes(AgentHook.objects.get(pk=hook.pk).secret_sealed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_sealed::text FROM agents_agenthook")
        assert old not in cursor.fetchone()[0]

    new = services.hook_rotate_secret(hook=hook, by=admin_user)
    assert new != old and new.startswith("whsec_")
    hook_server.secret = new
    hook_server.reply("rotated")
    message_answer(message_id=inbound(chat(account), "hi").pk)
    [received] = hook_server.received
    assert received.verified
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(received.body, received.headers)
    assert old not in caplog.text and new not in caplog.text
    assert old[6:] not in caplog.text and new[6:] not in caplog.text


def test_the_hook_must_be_https_to_a_public_address_unless_the_settings_allow(account, settings, admin_user):
    settings.AGENT_HOOK_ALLOW_PRIVATE = False
    settings.AGENT_HOOK_ALLOW_INSECURE = False
    for url, reason in [
        ("http://93.184.216.34/hook", "Only https://"),
        ("https://127.0.0.1/hook", "non-public"),
        ("https://[::1]:8443/hook", "non-public"),
        ("https://169.254.169.254/latest", "non-public"),
        ("https://10.0.0.5/hook", "non-public"),
        ("https://user:pw@93.184.216.34/", "no user name or password"),
    ]:
        with pytest.raises(ValueError, match=reason.replace("/", "/")):
            services.hook_save(account=account, values=settings_for(url), by=admin_user)
    assert not AgentHook.objects.exists()
    services.hook_save(account=account, values=settings_for("https://93.184.216.34/hook"), by=admin_user)
    assert AgentHook.objects.get().url == "https://93.184.216.34/hook"
    settings.AGENT_HOOK_ALLOW_PRIVATE = True
    with pytest.raises(ValueError, match="Only https://"):
        services.hook_save(account=account, values=settings_for("http://127.0.0.1/hook"), by=admin_user)


def test_a_url_that_turned_private_after_saving_is_refused_at_call_time(account, hook, hook_server, settings):
    settings.AGENT_HOOK_ALLOW_PRIVATE = False
    call = message_answer(message_id=inbound(chat(account), "hi").pk)
    assert call.outcome == "failed" and "non-public address (127.0.0.1)" in call.reason
    assert hook_server.received == []


def test_the_delivery_log_forgets_old_rows_only(account, hook, settings):
    from datetime import timedelta

    from django.utils import timezone

    from agents.tasks import calls_prune

    now = timezone.now()
    for n, age in enumerate([31, 40, 29, 0]):
        HookCall.objects.create(
            hook=hook, webhook_id=f"msg_old_{n}", outcome="no_reply", started_at=now - timedelta(days=age)
        )
    settings.AGENT_HOOK_LOG_KEEP_DAYS = 30
    assert calls_prune() == 2
    assert sorted(HookCall.objects.values_list("webhook_id", flat=True)) == ["msg_old_2", "msg_old_3"]


def test_a_secret_that_cannot_be_opened_fails_the_call_with_a_plain_reason(account, hook, hook_server):
    AgentHook.objects.filter(pk=hook.pk).update(secret_version=hook.secret_version + 7)  # wrong context
    call = message_answer(message_id=inbound(chat(account), "hi").pk)
    assert call.outcome == "failed" and "signing secret cannot be opened" in call.reason
    assert hook_server.received == []


def test_an_internal_failure_after_the_claim_is_logged_not_left_calling(
    account, hook, hook_server, monkeypatch
):
    from agents import selectors

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(selectors, "event_payload", broken)
    message = inbound(chat(account), "hi")
    with pytest.raises(RuntimeError):
        message_answer(message_id=message.pk)
    call = HookCall.objects.get()
    assert call.outcome == "failed" and call.reason == "Switchboard failed while handling the call"
    assert message_answer(message_id=message.pk) is None and hook_server.received == []


def test_an_admitted_message_queues_one_call_after_commit_and_a_refusing_broker_is_only_logged(
    account, hook, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from celery import current_app

    from automation.signals import message_admitted

    message = inbound(chat(account), "hi")
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        message_admitted.send(sender=None, message_id=message.pk, account_id=account.pk)
    assert sent == [("agents.hook_call", {"message_id": message.pk})]

    def refuse(name, kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(current_app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        message_admitted.send(sender=None, message_id=message.pk, account_id=account.pk)
    assert "broker down" in caplog.text

    AgentHook.objects.filter(pk=hook.pk).update(enabled=False)
    monkeypatch.setattr(current_app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_admitted.send(sender=None, message_id=message.pk, account_id=account.pk)
    assert callbacks == [] and len(sent) == 1
