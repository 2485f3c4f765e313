"""Delivering to a real local receiver: signatures, retries from the database, 410, disabling, rotation,
bounded attempts, SSRF refusals. The sweep runs in-process here; tests/webhooks/test_workers.py runs it
in real worker and beat processes."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm import netguard
from webhooks import delivery, services, tasks
from webhooks.events import NewEvent, events_record
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def record(n: int = 1, *, type: str = "message.received", account_id: int | None = None) -> list[Event]:
    with transaction.atomic():
        return events_record(
            [NewEvent(type=type, account_id=account_id, payload={"n": i, "text": "héllo"}) for i in range(n)]
        )


def make_due() -> None:
    Delivery.objects.filter(state=Delivery.State.PENDING).update(next_attempt_at=timezone.now())


def test_a_receiver_answering_503_then_200_gets_the_same_id_and_a_valid_signature_each_time(
    endpoint, receiver
):
    _, secret = endpoint
    [event] = record()
    receiver.script = [503]

    assert tasks.sweep() == 1
    row = Delivery.objects.get(event=event)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 503)
    make_due()
    assert tasks.sweep() == 1

    first, second = receiver.wait_for(2)
    assert first.id == second.id == event.pk
    assert first.id.startswith("msg_")
    assert first.verifies_with(secret) and second.verifies_with(secret)
    assert first.body == second.body
    body = json.loads(first.body)
    assert body == {
        "type": "message.received",
        "timestamp": body["timestamp"],
        "data": {"n": 0, "text": "héllo"},
    }
    assert body["timestamp"].endswith("Z")
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status, row.next_attempt_at) == ("succeeded", 2, 200, None)
    assert list(row.attempt_log.order_by("at").values_list("status", flat=True)) == [503, 200]
    assert tasks.sweep() == 0  # nothing is sent again
    assert len(receiver.requests) == 2


def test_a_tampered_body_or_another_secret_does_not_verify(endpoint, receiver):
    record()
    tasks.sweep()
    [request] = receiver.wait_for(1)
    assert not request.verifies_with(services.secret_new())
    request.body = request.body.replace(b"h\xc3\xa9llo", b"hello")
    assert not request.verifies_with(endpoint[1])


def test_retries_follow_the_schedule_from_the_database_and_then_stop(endpoint, receiver):
    receiver.default = 500
    [event] = record()
    gaps = []
    for _ in range(delivery.MAX_ATTEMPTS):
        assert tasks.sweep() == 1
        row = Delivery.objects.get(event=event)
        last = row.attempt_log.first()
        if row.next_attempt_at is not None:
            gaps.append((row.next_attempt_at - last.at).total_seconds())
        make_due()
    assert gaps == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    row = Delivery.objects.get(event=event)
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 10, None)
    assert tasks.sweep() == 0
    assert len(receiver.requests) == 10
    assert set(receiver.ids()) == {event.pk}


def test_a_retry_waits_for_its_time(endpoint, receiver):
    receiver.script = [500]
    record()
    tasks.sweep()
    assert tasks.sweep() == 0  # due in 5 s, not now
    assert len(receiver.requests) == 1


def test_a_410_disables_the_endpoint_and_holds_its_other_deliveries(endpoint, receiver, caplog):
    ep, _ = endpoint
    receiver.script = [410]
    record(2)
    with caplog.at_level(logging.WARNING):
        tasks.sweep()
    ep.refresh_from_db()
    assert not ep.enabled
    assert ep.disabled_reason == "The endpoint answered 410 Gone"
    assert len(receiver.requests) == 1
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["disabled", "failed"]
    assert "disabled: The endpoint answered 410 Gone" in caplog.text
    # Nothing new reaches a disabled endpoint; replay asks to enable it first.
    assert record() == []
    with pytest.raises(services.EndpointError, match="enable it first"):
        services.delivery_replay(delivery_id=Delivery.objects.get(state="disabled").pk)


def test_a_disabled_endpoint_alerts_admins_at_the_alert_webhook(
    endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    from crm.celery import app

    alerts: list[dict] = []
    settings.ALERT_WEBHOOK_URL = receiver.url
    receiver.script = [410]
    record()
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.sweep()
    finally:
        app.conf.task_always_eager = False
    alerts = [json.loads(r.body) for r in receiver.requests if "webhook-id" not in r.headers]
    assert alerts == [
        {
            "webhook_endpoint_id": endpoint[0].pk,
            "description": "CRM sync",
            "host": "127.0.0.1",
            "status": "webhook_disabled",
            "reason": "The endpoint answered 410 Gone",
        }
    ]


def test_an_endpoint_failing_for_days_is_disabled_and_one_that_recovers_is_not(endpoint, receiver, settings):
    ep, _ = endpoint
    receiver.default = 500
    now = timezone.now()
    Endpoint.objects.filter(pk=ep.pk).update(failing_since=now - timedelta(days=4, hours=23))
    record()
    tasks.sweep()
    ep.refresh_from_db()
    assert ep.enabled

    Endpoint.objects.filter(pk=ep.pk).update(failing_since=now - timedelta(days=5, seconds=1))
    make_due()
    tasks.sweep()
    ep.refresh_from_db()
    assert not ep.enabled
    assert ep.disabled_reason == "Every attempt failed for 5 days"

    services.endpoint_enable(endpoint_id=ep.pk)
    receiver.default = 200
    record()
    tasks.sweep()
    ep.refresh_from_db()
    assert ep.enabled and ep.failing_since is None


def test_the_first_failure_starts_the_failing_clock_and_a_success_stops_it(endpoint, receiver):
    ep, _ = endpoint
    receiver.script = [500]
    record()
    tasks.sweep()
    ep.refresh_from_db()
    assert ep.failing_since is not None
    make_due()
    tasks.sweep()
    ep.refresh_from_db()
    assert ep.failing_since is None


def test_after_a_rotation_both_secrets_verify_for_a_day_then_only_the_new_one(endpoint, receiver):
    ep, old = endpoint
    ep, new = services.endpoint_rotate(endpoint_id=ep.pk)
    assert new != old
    record()
    tasks.sweep()
    [during] = receiver.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies_with(old) and during.verifies_with(new)
    assert timedelta(hours=23) < ep.previous_secret_expires_at - timezone.now() <= timedelta(days=1)

    Endpoint.objects.filter(pk=ep.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    record()
    tasks.sweep()
    after = receiver.wait_for(2)[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verifies_with(new) and not after.verifies_with(old)


def test_an_attempt_is_bounded_by_the_timeout(endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 1.0
    receiver.delay = 4
    [event] = record()
    started = time.monotonic()
    tasks.sweep()
    assert time.monotonic() - started < 3
    row = Delivery.objects.get(event=event)
    assert (row.state, row.last_status, row.last_error) == ("pending", None, "No answer within 1 s")


def test_redirects_are_not_followed(endpoint, receiver):
    receiver.script = [302]
    [event] = record()
    tasks.sweep()
    row = Delivery.objects.get(event=event)
    assert (row.state, row.last_status, row.last_error) == ("pending", 302, "HTTP 302")
    assert len(receiver.requests) == 1


def test_an_unreachable_endpoint_is_a_failed_attempt_with_plain_words(db, private_allowed):
    ep, _ = services.endpoint_create(url="http://127.0.0.1:9/nothing-listens-here")
    [event] = record()
    tasks.sweep()
    row = Delivery.objects.get(event=event, endpoint=ep)
    assert (row.state, row.last_status, row.last_error) == ("pending", None, "Connection refused")


def test_private_and_loopback_targets_are_refused_unless_allowed(endpoint, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        receiver.url,
        receiver.url.replace("http://", "https://"),
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
    ):
        with pytest.raises(services.EndpointError):
            services.endpoint_create(url=url)
    # An endpoint saved while private targets were allowed is checked again at every attempt.
    [event] = record()
    tasks.sweep()
    row = Delivery.objects.get(event=event)
    assert "https://" in row.last_error or "non-public" in row.last_error
    assert receiver.requests == []


def test_check_url_pins_the_address_it_checked(settings):
    target = netguard.check_url("http://localhost:8080/a?b=1", allow_private=True)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "localhost", 8080, "/a?b=1")
    assert target.address in ("127.0.0.1", "::1")
    with pytest.raises(netguard.Refused):
        netguard.check_url("http://example.com/", allow_private=False)
    with pytest.raises(netguard.Refused):
        netguard.check_url("https://user:pw@example.com/", allow_private=False)
    with pytest.raises(netguard.Unresolvable):
        netguard.check_url("https://no-such-host.invalid/", allow_private=False)


def test_replay_sends_the_same_id_again_with_a_fresh_schedule(endpoint, receiver):
    receiver.default = 500
    [event] = record()
    for _ in range(delivery.MAX_ATTEMPTS):
        tasks.sweep()
        make_due()
    row = Delivery.objects.get(event=event)
    assert row.state == "failed"
    receiver.default = 200
    services.delivery_replay(delivery_id=row.pk)
    tasks.sweep()
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("succeeded", 1)
    assert Attempt.objects.filter(delivery=row).count() == 11
    assert set(receiver.ids()) == {event.pk}


def test_a_test_event_goes_to_that_endpoint_only_whatever_its_filters(endpoint, receiver, private_allowed):
    ep, secret = endpoint
    Endpoint.objects.filter(pk=ep.pk).update(event_types=["campaign.completed"])
    other, _ = services.endpoint_create(url=receiver.url + "/other")
    ep.refresh_from_db()
    services.test_event_send(endpoint=ep)
    tasks.sweep()
    [request] = receiver.wait_for(1)
    assert json.loads(request.body)["type"] == "webhook.test"
    assert request.verifies_with(secret)
    assert not Delivery.objects.filter(endpoint=other).exists()


def test_secrets_never_reach_logs_attempts_or_events(endpoint, receiver, caplog):
    ep, secret = endpoint
    with caplog.at_level(logging.DEBUG):
        _, rotated = services.endpoint_rotate(endpoint_id=ep.pk)
        record()
        tasks.sweep()
        logging.getLogger("webhooks").warning("leak? %s %s", secret, rotated)
    for value in (secret, rotated, secret[6:20], rotated[6:20]):
        assert value not in caplog.text
        assert not Attempt.objects.filter(response__contains=value).exists()
        assert not Event.objects.filter(payload__icontains=value).exists()
    row = Endpoint.objects.get(pk=ep.pk)
    assert secret.encode() not in bytes(row.secret_sealed) + bytes(row.previous_secret_sealed)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_delivery_once(receiver, private_allowed, monkeypatch, settings):
    monkeypatch.setattr("webhooks.events.deliveries_kick", lambda ids: None)  # the sweeps alone send
    settings.WEBHOOK_SEND_THREADS = 4  # and each sends several at a time, as in production
    services.endpoint_create(url=receiver.url)
    receiver.delay = 0.02
    events = record(40)
    counts: list[int] = []

    def sweep():
        try:
            counts.append(tasks.sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 40
    assert sorted(receiver.ids()) == sorted(e.pk for e in events)
    assert Delivery.objects.filter(state="succeeded", attempts=1).count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_a_delivery_another_worker_has_locked_instead_of_waiting(
    receiver, private_allowed, monkeypatch
):
    monkeypatch.setattr("webhooks.events.deliveries_kick", lambda ids: None)
    services.endpoint_create(url=receiver.url)
    first, second = record(2)
    locked = Delivery.objects.get(event=first)
    held, release, claimed = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=locked.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        started = time.monotonic()
        claimed = delivery.claim()
        assert time.monotonic() - started < 2
    finally:
        release.set()
        thread.join()
    assert claimed == [Delivery.objects.get(event=second).pk]
    assert delivery.claim() == [locked.pk]  # free again, and still due


def test_a_secret_sealed_under_a_missing_master_key_is_a_plain_failed_attempt(endpoint, receiver, settings):
    import base64

    record()
    settings.SWITCHBOARD_MASTER_KEYS = "other:" + base64.b64encode(bytes(range(32))).decode()
    tasks.sweep()
    row = Delivery.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "The signing secret cannot be opened (master key 'test1')"
    assert receiver.requests == []


def test_a_receiver_dripping_its_answer_is_cut_at_the_timeout(endpoint, settings):
    import socket

    settings.WEBHOOK_TIMEOUT = 1.0
    ep, _ = endpoint
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():  # one header byte every 0.3 s: never a read timeout, never an end
            try:
                conn.sendall(b"X")
            except OSError:
                break
            time.sleep(0.3)
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    Endpoint.objects.filter(pk=ep.pk).update(url=f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    [event] = record()
    started = time.monotonic()
    try:
        tasks.sweep()
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3
    row = Delivery.objects.get(event=event)
    assert (row.state, row.last_status, row.last_error) == ("pending", None, "No answer within 1 s")


def test_a_worker_whose_claim_ran_out_sends_nothing(endpoint, receiver):
    [event] = record()
    [claimed] = delivery.claim()
    Delivery.objects.filter(pk=claimed).update(next_attempt_at=timezone.now())  # as if it had expired
    delivery.send_claimed(claimed)  # the late worker
    assert receiver.requests == []
    assert delivery.claim() == [claimed]  # someone else's turn now
    delivery.send_claimed(claimed)
    assert receiver.ids() == [event.pk]


def test_a_claim_lasts_long_enough_for_its_whole_batch(endpoint, settings):
    settings.WEBHOOK_SEND_THREADS, settings.WEBHOOK_TIMEOUT = 4, 10
    record(10)
    started = timezone.now()
    claimed = delivery.claim()
    assert len(claimed) == 10
    until = set(Delivery.objects.values_list("next_attempt_at", flat=True))
    assert [round((u - started).total_seconds()) for u in until] == [3 * 10 + 30]


def test_old_events_are_pruned_unless_a_delivery_still_waits(endpoint, receiver):
    sent, waiting = record(2)
    receiver.script = [200, 500]
    tasks.sweep()
    Event.objects.update(created_at=timezone.now() - timedelta(days=31))
    fresh = record()[0]
    assert services.events_prune(older_than=timedelta(days=30)) == 1
    assert set(Event.objects.values_list("pk", flat=True)) == {waiting.pk, fresh.pk}
    assert not Attempt.objects.filter(delivery__event_id=sent.pk).exists()
