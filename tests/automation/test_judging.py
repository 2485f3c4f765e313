"""Judging stored messages and the pairing rows, against PostgreSQL (no Telegram): once per message,
one pending request per sender however the judging races, the cap, admin-chat replies, old messages."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account
from automation import pairing, services, signals
from automation.models import AutomationSettings, Judgement, PairingRequest
from inbox.models import Contact, Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)

_ids = iter(range(10_000, 10**6))


@pytest.fixture
def account(make_account) -> Account:
    made = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=made.pk).update(telegram_id=777_001, username="Agent_Smith")
    made.refresh_from_db()
    AutomationSettings.objects.create(account=made)  # automation set up, with the defaults
    return made


def person(name: str) -> Contact:
    return Contact.objects.create(telegram_id=next(_ids), username=name, first_name=name.title())


def dm(account, sender: Contact, text: str, **fields) -> Message:
    conversation, _ = Conversation.objects.get_or_create(
        account=account,
        peer_id=sender.telegram_id,
        defaults={"kind": "private", "contact": sender, "username": sender.username},
    )
    return Message.objects.create(
        conversation=conversation, telegram_id=next(_ids), direction="in", text=text, sender=sender, **fields
    )


def reason(message: Message) -> str:
    return Judgement.objects.get(pk=message.pk).reason


@pytest.fixture
def admitted():
    seen: list[int] = []

    def receiver(sender, *, message_id, account_id, **kwargs):
        seen.append(message_id)

    signals.message_admitted.connect(receiver)
    yield seen
    signals.message_admitted.disconnect(receiver)


def in_parallel(*calls) -> list:
    """Run each call in its own thread (its own database connection) at the same moment."""
    start, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(n, call):
        try:
            start.wait()
            results[n] = call()
        except Exception as error:  # returned to the test, which judges it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results + errors


def test_the_database_refuses_a_second_pending_request_for_one_sender_under_concurrent_inserts(account):
    def insert():
        with transaction.atomic():
            PairingRequest.objects.create(
                account=account, sender_id=42, expires_at=timezone.now() + timedelta(hours=1)
            )
            return "created"

    outcomes = in_parallel(*[insert] * 6)
    assert outcomes.count("created") == 1
    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 5
    # Decided requests do not count: an expired sender may ask again.
    PairingRequest.objects.update(status="expired")
    insert()
    assert PairingRequest.objects.filter(sender_id=42).count() == 2


def test_messages_of_one_sender_judged_at_once_make_one_request_and_one_reply(account):
    sam = person("sam")
    messages = [dm(account, sam, f"hello {n}") for n in range(4)]
    in_parallel(*[lambda m=m: services.messages_judge(message_ids=[m.pk]) for m in messages])
    assert PairingRequest.objects.filter(account=account).count() == 1
    assert sorted(reason(m) for m in messages) == ["pairing pending"] * 3 + ["pairing requested"]
    assert Message.objects.filter(automation="pairing").count() == 1


def test_the_cap_holds_when_strangers_race(account):
    AutomationSettings.objects.filter(account=account).update(pending_cap=2)
    messages = [dm(account, person(f"p{n}"), "hi") for n in range(5)]
    in_parallel(*[lambda m=m: services.messages_judge(message_ids=[m.pk]) for m in messages])
    assert PairingRequest.objects.filter(account=account, status="pending").count() == 2
    assert sorted(reason(m) for m in messages).count("pairing queue full") == 3
    full = Message.objects.filter(automation="pairing", text__startswith="Too many pending").count()
    assert full == 3


def test_each_message_is_judged_once_however_often_the_task_runs(account, admitted):
    AutomationSettings.objects.filter(account=account).update(dm_policy="open")
    message = dm(account, person("olga"), "hi")
    assert services.messages_judge(message_ids=[message.pk]) == 1
    assert services.messages_judge(message_ids=[message.pk, message.pk]) == 0
    in_parallel(*[lambda: services.messages_judge(message_ids=[message.pk])] * 3)
    assert admitted == [message.pk]


def test_a_campaign_recipient_answering_is_admitted_not_paired(account):
    lead = person("lead")
    first = dm(account, lead, "placeholder")
    Message.objects.filter(pk=first.pk).update(
        direction="out", text="Hi! We have a room.", date=timezone.now() - timedelta(minutes=5)
    )
    answer = dm(account, lead, "Tell me more")
    services.messages_judge(message_ids=[answer.pk])
    assert reason(answer) == "contacted"
    assert not PairingRequest.objects.exists()


def test_pairing_replies_and_failed_sends_do_not_make_a_stranger_known(account):
    sam = person("sam")
    for fields in ({"automation": "pairing"}, {"delivery": "failed"}):
        earlier = dm(account, sam, "x")
        Message.objects.filter(pk=earlier.pk).update(
            direction="out", date=timezone.now() - timedelta(minutes=1), **fields
        )
    message = dm(account, sam, "hi")
    services.messages_judge(message_ids=[message.pk])
    assert reason(message) == "pairing requested"


def test_old_messages_from_a_backfill_are_never_answered(account):
    message = dm(account, person("early"), "from last week", date=timezone.now() - timedelta(days=7))
    services.messages_judge(message_ids=[message.pk])
    assert reason(message) == "too old"
    assert not PairingRequest.objects.exists()


def test_a_taken_over_conversation_gets_no_pairing_reply(account):
    message = dm(account, person("tom"), "hi")
    Conversation.objects.filter(pk=message.conversation_id).update(automation_paused=True)
    services.messages_judge(message_ids=[message.pk])
    assert reason(message) == "taken over"
    assert not PairingRequest.objects.exists() and not Message.objects.filter(automation="pairing").exists()


def test_outbound_and_unknown_ids_are_skipped_quietly(account):
    message = dm(account, person("x"), "hi")
    Message.objects.filter(pk=message.pk).update(direction="out")
    assert services.messages_judge(message_ids=[message.pk, 10**15]) == 0
    assert not Judgement.objects.exists()


class TestAdminChatReplies:
    @pytest.fixture
    def pending(self, account):
        AutomationSettings.objects.filter(account=account).update(admin_chat="@Boss")
        sam = person("sam")
        services.messages_judge(message_ids=[dm(account, sam, "let me in").pk])
        request = PairingRequest.objects.get()
        assert request.announce_operation is not None  # the post to the admin chat was queued
        PairingRequest.objects.filter(pk=request.pk).update(announced_message_id=5000)
        return account, sam, request

    def test_a_trimmed_any_case_word_replying_to_the_announcement_decides(self, pending):
        account, _sam, request = pending
        boss = person("boss")
        reply = dm(account, boss, " YES ", reply_to_id=5000)
        services.messages_judge(message_ids=[reply.pk])
        request.refresh_from_db()
        assert (request.status, request.decided_in_chat_by, reason(reply)) == (
            "approved",
            "Boss",
            "pairing decision",
        )

    @pytest.mark.parametrize("word", ["approve it", "yess", "", "deny please"])
    def test_other_words_decide_nothing(self, pending, word):
        account, _sam, request = pending
        services.messages_judge(message_ids=[dm(account, person("boss"), word, reply_to_id=5000).pk])
        assert PairingRequest.objects.get(pk=request.pk).status == "pending"

    def test_a_reply_to_another_message_or_in_another_chat_decides_nothing(self, pending):
        account, _sam, request = pending
        boss = person("boss")
        services.messages_judge(message_ids=[dm(account, boss, "y", reply_to_id=4999).pk])
        services.messages_judge(message_ids=[dm(account, person("notboss"), "y", reply_to_id=5000).pk])
        assert PairingRequest.objects.get(pk=request.pk).status == "pending"

    def test_the_requester_never_decides_their_own_request(self, pending):
        account, sam, request = pending
        AutomationSettings.objects.filter(account=account).update(admin_chat=str(sam.telegram_id))
        services.messages_judge(message_ids=[dm(account, sam, "approve", reply_to_id=5000).pk])
        assert PairingRequest.objects.get(pk=request.pk).status == "pending"

    def test_in_a_private_admin_chat_the_sender_is_the_chats_person(self, pending):
        account, _sam, request = pending
        reply = dm(account, person("boss"), "deny", reply_to_id=5000)
        Message.objects.filter(pk=reply.pk).update(sender=None)
        services.messages_judge(message_ids=[reply.pk])
        assert PairingRequest.objects.get(pk=request.pk).status == "denied"

    def test_the_requester_as_the_private_admin_chat_still_cannot_decide(self, pending):
        account, sam, request = pending
        AutomationSettings.objects.filter(account=account).update(admin_chat="@sam")
        reply = dm(account, sam, "approve", reply_to_id=5000)
        Message.objects.filter(pk=reply.pk).update(sender=None)
        services.messages_judge(message_ids=[reply.pk])
        assert PairingRequest.objects.get(pk=request.pk).status == "pending"

    def test_the_announced_id_is_read_from_the_command_outcome(self, pending):
        from accounts.models import Operation

        account, _sam, request = pending
        PairingRequest.objects.filter(pk=request.pk).update(announced_message_id=None)
        Operation.objects.filter(pk=request.announce_operation).update(
            state="done", result={"message_id": 6000}
        )
        services.messages_judge(message_ids=[dm(account, person("boss"), "n", reply_to_id=6000).pk])
        request.refresh_from_db()
        assert (request.status, request.announced_message_id) == ("denied", 6000)

    def test_a_decided_or_expired_request_cannot_be_decided_again(self, pending):
        _account, _sam, request = pending
        pairing.pairing_decide(request_id=request.pk, approve=False)
        with pytest.raises(pairing.NotPending, match="denied already"):
            pairing.pairing_decide(request_id=request.pk, approve=True)
        PairingRequest.objects.filter(pk=request.pk).update(status="pending", expires_at=timezone.now())
        with pytest.raises(pairing.NotPending, match="expired already"):
            pairing.pairing_decide(request_id=request.pk, approve=True)


def test_beat_expires_requests_every_minute():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from automation.tasks import pairing_expire

    migration = importlib.import_module("automation.migrations.0002_pairing_expire_schedule")
    PeriodicTask.objects.filter(name=migration.NAME).delete()  # whatever an earlier test left
    [operation] = migration.Migration.operations
    operation.code(apps, None)
    operation.code(apps, None)  # idempotent
    scheduled = PeriodicTask.objects.get(name=migration.NAME)
    assert (scheduled.task, scheduled.interval.every, scheduled.interval.period) == (
        pairing_expire.name,
        1,
        "minutes",
    )


def test_judgements_older_than_a_day_are_pruned_and_a_late_redelivery_still_answers_nothing(
    account, admitted
):
    AutomationSettings.objects.filter(account=account).update(dm_policy="open")
    old = dm(account, person("old"), "yesterday", date=timezone.now() - timedelta(days=2))
    fresh = dm(account, person("new"), "now")
    services.messages_judge(message_ids=[old.pk, fresh.pk])
    Judgement.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=2))
    assert services.judgements_prune(batch=1) == 1
    assert list(Judgement.objects.values_list("pk", flat=True)) == [fresh.pk]
    services.messages_judge(message_ids=[old.pk])  # a redelivery of the old task
    assert reason(old) == "too old" and admitted == [fresh.pk]


def test_an_account_whose_automation_is_not_set_up_is_never_answered(make_account):
    # An account worked by hand must not start answering strangers when automation ships: no
    # judgement, no pairing request, no reply until an admin saves its policies.
    account = make_account(status=Account.Status.ACTIVE)
    message = dm(account, person("stranger"), "hello?")
    assert services.messages_judge(message_ids=[message.pk]) == 0
    assert not Judgement.objects.exists() and not PairingRequest.objects.exists()
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()
