"""Events are rows written in the transaction of the change they report, set-based, with small payloads."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import registry
from accounts.models import Account, Operation
from accounts.services import account_flood_wait, account_transition
from accounts.telegram.records import Deletion, MessageRecord, PeerInfo, UserInfo
from automation import services as automation_services
from automation.models import AutomationSettings, PairingRequest
from inbox import store
from inbox.models import Message
from inbox.records import Batch
from outreach import scraping
from outreach.models import ScrapeJob
from outreach.services import campaign_pause
from tests.support.outreach import audience, campaign, contacts
from webhooks import services
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALICE = UserInfo(telegram_id=501, access_hash=77, first_name="Alice", username="alice")


def private(account, telegram_id, text):
    peer = PeerInfo(peer_id=ALICE.telegram_id, kind="private", title="Alice", username="alice", user=ALICE)
    return MessageRecord(
        account_id=account.pk, peer=peer, telegram_id=telegram_id, out=False,
        date=T0 + timedelta(seconds=telegram_id), text=text, sender=ALICE, sender_name="Alice",
    )  # fmt: skip


@pytest.fixture
def account(make_account):
    return make_account(status=Account.Status.ACTIVE)


@pytest.fixture
def hook(db, private_allowed):
    endpoint, _ = services.endpoint_create(url="http://127.0.0.1:9/hook")
    return endpoint


def events(type: str | None = None) -> list[Event]:
    rows = Event.objects.order_by("created_at", "id")
    return list(rows.filter(type=type) if type else rows)


def test_received_messages_become_events_with_small_payloads(hook, account):
    store.ingest(
        Batch(messages=[private(account, 1, "Is the flat free?"), private(account, 2, "And the price?")])
    )
    received = events("message.received")
    assert [e.payload["text"] for e in received] == ["Is the flat free?", "And the price?"]
    first = received[0]
    assert first.account_id == account.pk
    assert first.id.startswith("msg_") and len(first.id) == 30
    assert first.payload["chat"] == {"peer_id": 501, "kind": "private", "title": "Alice", "username": "alice"}
    assert first.payload["sender"] == {"telegram_id": 501, "username": "alice", "name": "Alice"}
    assert first.payload["direction"] == "in" and first.payload["telegram_id"] == 1
    assert first.payload["date"] == "2026-11-01T12:00:01Z"
    assert Delivery.objects.filter(endpoint=hook, state="pending").count() == 2


def test_a_batch_is_recorded_in_a_few_statements_whatever_its_size(hook, account):
    def webhook_statements(n: int, start: int) -> int:
        batch = Batch(messages=[private(account, start + i, f"m{i}") for i in range(n)])
        with CaptureQueriesContext(connection) as queries:
            store.ingest(batch)
        return sum("webhooks_" in q["sql"] for q in queries.captured_queries)

    # The enabled endpoints, then one statement for the events and their deliveries.
    assert webhook_statements(1, 1) == webhook_statements(200, 100) == 2
    assert Event.objects.count() == 201


def test_without_endpoints_ingestion_writes_no_event_and_builds_no_payload(db, account):
    batch = Batch(messages=[private(account, i, "hi") for i in range(1, 50)])
    with CaptureQueriesContext(connection) as queries:
        store.ingest(batch)
    assert sum("webhooks_" in q["sql"] for q in queries.captured_queries) == 1
    assert not Event.objects.exists()


def test_an_event_rolls_back_with_its_change(hook, account):
    with pytest.raises(RuntimeError), transaction.atomic():
        store.ingest(Batch(messages=[private(account, 1, "lost with its transaction")]))
        assert Event.objects.count() == 1
        raise RuntimeError("the ingestion transaction fails after storing")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        account_transition(account_id=account.pk, to=Account.Status.BANNED, reason="USER_DEACTIVATED_BAN")
        raise RuntimeError("rolled back")
    assert not Event.objects.exists()


def test_edits_and_deletions_are_events_too(hook, account):
    store.ingest(Batch(messages=[private(account, 1, "first")]))
    edited = replace(private(account, 1, "first, edited"), edited_at=T0 + timedelta(minutes=1))
    store.ingest(Batch(messages=[edited]))
    store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(1,))]))
    assert [e.type for e in events()] == ["message.received", "message.edited", "message.deleted"]
    assert events("message.edited")[0].payload["text"] == "first, edited"
    assert set(events("message.deleted")[0].payload) == {
        "message_id",
        "account_id",
        "conversation_id",
        "chat",
        "telegram_id",
    }


def test_filters_and_account_scope_choose_the_endpoints(private_allowed, account, make_account):
    other = make_account(status=Account.Status.ACTIVE)
    everything, _ = services.endpoint_create(url="http://127.0.0.1:9/a")
    edits_only, _ = services.endpoint_create(url="http://127.0.0.1:9/b", event_types=["message.edited"])
    others_only, _ = services.endpoint_create(url="http://127.0.0.1:9/c", account=other)
    mine_only, _ = services.endpoint_create(url="http://127.0.0.1:9/d", account=account)
    store.ingest(Batch(messages=[private(account, 1, "hi")]))
    assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {everything.pk, mine_only.pk}
    assert not Delivery.objects.filter(endpoint__in=[edits_only, others_only]).exists()


def test_status_changes_are_events_with_the_cooldown_in_seconds(hook, account):
    account_transition(account_id=account.pk, to=Account.Status.SPAM_LIMITED, reason="PEER_FLOOD")
    account_flood_wait(
        account_id=account.pk,
        seconds=600,
        until=timezone.now() + timedelta(seconds=600),
        reason="FLOOD_WAIT_600",
    )
    account_transition(account_id=account.pk, to=Account.Status.REAUTH_REQUIRED, reason="SESSION_REVOKED")
    account_transition(account_id=account.pk, to=Account.Status.REAUTH_REQUIRED, reason="again")  # no change
    changes = [e.payload for e in events("account.status_changed")]
    assert [(c["from_status"], c["to_status"]) for c in changes] == [
        ("active", "spam_limited"),
        ("spam_limited", "cooldown"),
        ("cooldown", "reauth_required"),
    ]
    assert changes[0]["reason"] == "PEER_FLOOD"
    assert 595 <= changes[1]["cooldown_seconds"] <= 600 and changes[1]["cooldown_until"].endswith("Z")
    [flood] = events("account.flood_wait")
    assert flood.payload == {"account_id": account.pk, "seconds": 600, "reason": "FLOOD_WAIT_600"}
    assert flood.account_id == account.pk


def _finish(command: str, account, **outcome) -> None:
    registry.record(
        registry.declared()[command], operation_id=str(uuid.uuid4()), account_id=account.pk, **outcome
    )


def test_send_outcomes_are_message_sent_and_message_failed(hook, account):
    declared = registry.declared()
    _finish("messages.send", account, result=declared["messages.send"].result(message_id=42))
    _finish(
        "outreach.send",
        account,
        error=registry.Unavailable("Banned", status="banned", code="USER_DEACTIVATED_BAN"),
    )
    _finish("messages.send", account, error=registry.Wait(30, "flood"))  # runs again by itself: no event
    _finish(
        "inbox.reply", account, result=declared["inbox.reply"].result(skipped="not pending")
    )  # nothing sent
    _finish("dialogs.sync", account, result=declared["dialogs.sync"].result(dialogs=[]))  # not a send
    [sent] = events("message.sent")
    assert sent.payload["telegram_ids"] == [42] and sent.payload["command"] == "messages.send"
    assert Operation.objects.filter(pk=sent.payload["operation_id"], state="done").exists()
    [failed] = events("message.failed")
    assert failed.payload | {"operation_id": ""} == {
        "operation_id": "",
        "command": "outreach.send",
        "account_id": account.pk,
        "reason": "Banned",
        "error": "unavailable",
        "code": "USER_DEACTIVATED_BAN",
        "account_status": "banned",
    }
    assert Event.objects.count() == 2


def test_campaigns_paused_and_completed_and_scrapes_ended_are_events(hook, account):
    aud = audience(contacts(2))
    spring = campaign(aud, [account])
    spring.state = "running"
    spring.save()
    campaign_pause(campaign=spring)
    campaign_pause(campaign=spring)  # already paused: no second event
    [paused] = events("campaign.paused")
    assert paused.payload["campaign_id"] == spring.pk and paused.payload["state"] == "paused"
    assert paused.account_id is None

    from outreach.planner import finish_if_done

    assert finish_if_done(spring, timezone.now()) is True  # never started: nobody is waiting
    assert events("campaign.completed")[0].payload["state"] == "finished"

    job = ScrapeJob.objects.create(account=account, target="@buyers", audience=aud)
    scraping.job_finish(
        job_id=job.pk, state=scraping.State.FAILED, message="This group hides its member list"
    )
    scraping.job_finish(job_id=job.pk, state=scraping.State.FAILED, message="twice")  # ended already
    [scrape] = events("scrape.completed")
    assert scrape.payload["state"] == "failed" and scrape.account_id == account.pk
    assert scrape.payload["message"] == "This group hides its member list"


def test_a_pairing_request_is_an_event_written_with_the_request(hook, account):
    # A stranger writes to an account whose automation is set up with the pairing policy (the default):
    # automation makes the request, and the event carries who asked and what they wrote.
    AutomationSettings.objects.create(account=account)
    store.ingest(Batch(messages=[replace(private(account, 1, "hello, may I?"), date=timezone.now())]))
    automation_services.messages_judge(message_ids=list(Message.objects.values_list("pk", flat=True)))
    request = PairingRequest.objects.get()
    [event] = events("pairing.requested")
    assert event.account_id == account.pk
    assert event.payload["request_id"] == request.pk and event.payload["text"] == "hello, may I?"
    assert event.payload["sender"] == {"id": ALICE.telegram_id, "username": "alice", "name": "Alice"}
    assert event.payload["expires_at"] == request.expires_at.isoformat().replace("+00:00", "Z")


def test_an_endpoint_scoped_to_an_account_hears_no_campaign_events(private_allowed, account):
    scoped, _ = services.endpoint_create(url="http://127.0.0.1:9/a", account=account)
    aud = audience(contacts(1))
    spring = campaign(aud, [account])
    spring.state = "running"
    spring.save()
    campaign_pause(campaign=spring)
    assert not Delivery.objects.filter(endpoint=scoped).exists()
