"""Sending deliveries: claim, sign (Standard Webhooks), POST, and record the outcome with the next try.

A delivery is claimed before it is sent: due rows are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` and
their ``next_attempt_at`` pushed past the attempt's deadline in the same short transaction, so two
workers (the fast path and the sweep, or two sweeps) never send one attempt at once, and a worker
killed mid-send leaves the delivery due again a little later. Retries are scheduled in the database on
the specification's schedule, never as broker countdowns.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from crm import netguard, vault
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint, Event

log = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt (Standard Webhooks' schedule: about three days).
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# A claimed attempt becomes due again this long after its deadline, if its worker died.
CLAIM_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Answer:
    status: int | None  # None when nothing came back
    error: str  # plain words, "" for any answer
    body: str  # the start of the answer, control characters removed
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# --- claiming ------------------------------------------------------------------------------------


def claim(*, delivery_ids: Sequence[int] | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Claim due pending deliveries (these ids, or any): locked with SKIP LOCKED, so a row another
    worker is claiming is left to it, and pushed past this attempt's deadline."""
    now = timezone.now()
    due = Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
    if delivery_ids is not None:
        due = due.filter(pk__in=list(delivery_ids))
    with transaction.atomic():
        ids = list(
            due.order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            # Long enough for the whole batch, sent WEBHOOK_SEND_THREADS at a time.
            rounds = math.ceil(len(ids) / max(1, settings.WEBHOOK_SEND_THREADS))
            until = now + timedelta(seconds=rounds * settings.WEBHOOK_TIMEOUT) + CLAIM_GRACE
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=until, updated_at=now)
    return ids


def send_claimed(delivery_id: int) -> None:
    """Send one claimed delivery and record what happened."""
    delivery = Delivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != Delivery.State.PENDING:
        return
    latest_start = timezone.now() + timedelta(seconds=settings.WEBHOOK_TIMEOUT)
    if delivery.next_attempt_at is None or delivery.next_attempt_at < latest_start:
        return  # our claim runs out before this attempt could: the next claim sends it
    if not delivery.endpoint.enabled:
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.PENDING).update(
            state=Delivery.State.DISABLED
        )
        return
    answer = post(endpoint=delivery.endpoint, event=delivery.event)
    outcome_record(delivery=delivery, answer=answer)


# --- signing and posting -------------------------------------------------------------------------


def body_of(event: Event) -> str:
    """The JSON body every attempt of this event sends, byte for byte (the signature covers it)."""
    timestamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event.type, "timestamp": timestamp, "data": event.payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def secrets_of(endpoint: Endpoint, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one while its overlap lasts."""
    found = [vault.unseal(bytes(endpoint.secret_sealed), context=endpoint.secret_context()).decode()]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires is not None and expires > now:
        sealed = bytes(endpoint.previous_secret_sealed)
        found.append(vault.unseal(sealed, context=endpoint.previous_secret_context()).decode())
    return found


def headers_for(*, endpoint: Endpoint, event_id: str, body: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation the signature header carries one signature per
    secret, space-separated, so a receiver holding either secret verifies."""
    signatures = [Webhook(secret).sign(event_id, now, body) for secret in secrets_of(endpoint, now=now)]
    return {
        "content-type": "application/json",
        "user-agent": "Switchboard-Webhooks",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def post(*, endpoint: Endpoint, event: Event) -> Answer:
    """One POST of the event to the endpoint, bounded by WEBHOOK_TIMEOUT; redirects are not followed
    (a 3xx is a failed attempt)."""
    started = time.monotonic()
    now = timezone.now()
    body = body_of(event)

    def answer(status: int | None, error: str, text: str = "") -> Answer:
        return Answer(status, error, text, int((time.monotonic() - started) * 1000))

    try:
        target = netguard.check_url(endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except (netguard.Refused, netguard.Unresolvable) as refused:
        return answer(None, str(refused)[:255])
    try:
        headers = headers_for(endpoint=endpoint, event_id=event.pk, body=body, now=now)
    except vault.VaultError as error:
        # Like a session sealed under a missing master key: say which key, never key material.
        key = getattr(error, "key_id", None)
        where = f"master key {key!r}" if key else type(error).__name__
        return answer(None, f"The signing secret cannot be opened ({where})")
    timeout = settings.WEBHOOK_TIMEOUT
    connection = netguard.pinned_connection(target, timeout=timeout)
    # The socket timeout bounds each read; the watchdog bounds the whole attempt, so a receiver that
    # drips its answer a byte at a time cannot hold a worker either.
    cut = threading.Event()
    watchdog = threading.Timer(timeout, _cut, args=(connection, cut))
    watchdog.start()
    too_long = f"No answer within {timeout:g} s"
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        text = response.read(2048).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return answer(None, too_long if cut.is_set() or isinstance(error, TimeoutError) else _why(error))
    finally:
        watchdog.cancel()
        connection.close()
    if cut.is_set():  # an answer cut short is no answer, whatever its status line said
        return answer(None, too_long)
    return answer(response.status, "", _CONTROL.sub(" ", text)[:500])


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """Interrupt a read in progress on another thread (shutdown wakes a blocked recv; close does not)."""
    cut.set()
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def _why(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(error, http.client.HTTPException):
        return "The answer was not valid HTTP"
    name = type(error).__name__
    return f"Could not reach the endpoint ({name})"


# --- outcomes ------------------------------------------------------------------------------------


def next_attempt_after(*, attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None when the schedule has run out."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=RETRY_SCHEDULE[attempts - 1])


def outcome_record(*, delivery: Delivery, answer: Answer) -> None:
    """Record one attempt: success, the next try on the schedule, or the end of it. A 410 Gone disables
    the endpoint; an endpoint failing for WEBHOOK_DISABLE_AFTER is disabled and admins are alerted."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    error = answer.error or ("" if answer.ok else f"HTTP {answer.status}")
    fields = {
        "attempts": attempts,
        "last_status": answer.status,
        "last_error": error[:255],
        "last_duration_ms": answer.duration_ms,
        "updated_at": now,
    }
    if answer.ok:
        fields.update(state=Delivery.State.SUCCEEDED, next_attempt_at=None)
    elif answer.status == 410:
        fields.update(state=Delivery.State.FAILED, next_attempt_at=None)
    else:
        retry_at = next_attempt_after(attempts=attempts, now=now)
        fields.update(
            state=Delivery.State.PENDING if retry_at else Delivery.State.FAILED, next_attempt_at=retry_at
        )
    with transaction.atomic():
        # Only the claim that sent it records it: the attempt count has not moved since the claim.
        updated = Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(**fields)
        if not updated:
            return
        Attempt.objects.create(
            delivery=delivery,
            at=now,
            status=answer.status,
            error=error[:255],
            duration_ms=answer.duration_ms,
            response=answer.body,
        )
        endpoint_id = delivery.endpoint_id
        if answer.ok:
            if delivery.endpoint.failing_since is not None:
                Endpoint.objects.filter(pk=endpoint_id).update(failing_since=None)
        elif answer.status == 410:
            services.endpoint_disable(
                endpoint_id=endpoint_id, reason="The endpoint answered 410 Gone", alert=True
            )
        else:
            Endpoint.objects.filter(pk=endpoint_id, failing_since=None).update(failing_since=now)
            cutoff = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER)
            failing = Endpoint.objects.filter(pk=endpoint_id, enabled=True, failing_since__lte=cutoff)
            if failing.exists():
                services.endpoint_disable(
                    endpoint_id=endpoint_id,
                    reason=f"Every attempt failed for {_days(settings.WEBHOOK_DISABLE_AFTER)}",
                    alert=True,
                )


def _days(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{seconds} s"
