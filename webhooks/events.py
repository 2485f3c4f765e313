"""The event types Switchboard sends, and recording events (the outbox) in the caller's transaction.

Recording is set-based: one SELECT of the enabled endpoints and one statement inserting the events
and their deliveries, however many messages a batch stored. An event no endpoint wants is not written
at all, so an installation without webhooks pays one small query per batch. The deliveries are kicked
to a worker once the transaction commits (the fast path); the beat sweep sends whatever that missed.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from webhooks.models import Endpoint, Event

log = logging.getLogger(__name__)

EVENT_TYPES: dict[str, str] = {
    "message.received": "An account received a message (private chat, group or channel)",
    "message.sent": "A message an account was asked to send (inbox reply, API, campaign) left",
    "message.failed": "A message an account was asked to send failed for good",
    "message.edited": "A stored message was edited",
    "message.deleted": "A stored message was deleted on Telegram",
    "account.status_changed": "An account changed status (banned, re-login needed, spam-limited, cooldown…)",
    "account.flood_wait": "Telegram made an account wait (FLOOD_WAIT) longer than it waits in place",
    "campaign.completed": "A campaign reached every recipient it could",
    "campaign.paused": "A campaign was paused",
    "scrape.completed": "A scrape job ended (done, incomplete or failed)",
    "pairing.requested": "An unknown sender asked to be paired with an account",
}
TEST_EVENT = "webhook.test"  # sent by "send test event" in the console, to that endpoint only

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_ids(count: int) -> list[str]:
    """``msg_`` and a ULID each: 48 bits of milliseconds, then 80 random bits (Crockford base32). Ids of
    one call count up from one random start (a monotonic ULID), so they sort in the order recorded."""
    start = (int(time.time() * 1000) << 80) | secrets.randbits(79)
    return ["msg_" + _base32(start + i) for i in range(count)]


def _base32(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass(frozen=True)
class NewEvent:
    type: str
    payload: dict[str, Any]
    account_id: int | None = None


def events_record(events: Sequence[NewEvent], *, endpoints: Sequence[Endpoint] | None = None) -> list[Event]:
    """Write these events and a delivery for each endpoint that wants one, in the caller's transaction;
    after it commits, a worker sends them. ``endpoints`` narrows the audience (a test event)."""
    if not events:
        return []
    for event in events:
        if event.type not in EVENT_TYPES and event.type != TEST_EVENT:
            raise ValueError(f"unknown event type {event.type!r}")
    audience = list(Endpoint.objects.filter(enabled=True)) if endpoints is None else list(endpoints)
    now = timezone.now()
    rows: list[Event] = []
    pairs: list[tuple[str, int]] = []  # (event id, endpoint id): one delivery each
    ids = iter(new_event_ids(len(events)))
    for event in events:
        event_id = next(ids)
        wanted = [
            e
            for e in audience
            if event.type == TEST_EVENT or e.wants(event_type=event.type, account_id=event.account_id)
        ]
        if not wanted:
            continue
        row = Event(
            id=event_id,
            type=event.type,
            account_id=event.account_id,
            payload=event.payload,
            created_at=now,
        )
        rows.append(row)
        pairs += [(event_id, e.pk) for e in wanted]
    if not rows:
        return []
    delivery_ids = _insert(rows, pairs, now=now)
    transaction.on_commit(lambda: deliveries_kick(delivery_ids))
    return rows


def _insert(rows: list[Event], pairs: list[tuple[str, int]], *, now: datetime) -> list[int]:
    """One statement for the events and their deliveries; returns the deliveries' ids. They travel as
    two JSON documents: quoting one long string costs far less than quoting an array item by item, in
    the ingestion transaction of every batch."""
    events = [{"id": r.id, "type": r.type, "account_id": r.account_id, "payload": r.payload} for r in rows]
    deliveries = [{"event_id": event_id, "endpoint_id": endpoint_id} for event_id, endpoint_id in pairs]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH events AS (
                INSERT INTO webhooks_event (id, type, account_id, payload, created_at)
                SELECT e.id, e.type, e.account_id, e.payload, %s
                FROM jsonb_to_recordset(%s::jsonb) AS e(id text, type text, account_id bigint, payload jsonb)
                RETURNING id
            )
            INSERT INTO webhooks_delivery (event_id, endpoint_id, state, attempts, next_attempt_at,
                last_error, created_at, updated_at)
            SELECT d.event_id, d.endpoint_id, 'pending', 0, %s, '', %s, %s
            FROM jsonb_to_recordset(%s::jsonb) AS d(event_id text, endpoint_id bigint)
            RETURNING id
            """,
            [now, _json(events), now, now, now, _json(deliveries)],
        )
        return [row[0] for row in cursor.fetchall()]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def deliveries_kick(delivery_ids: list[int]) -> None:
    """The fast path: a worker sends these now. Losing this message loses nothing: the sweep sends
    every due delivery."""
    from webhooks.tasks import deliver  # at call time: tasks import the delivery code, which imports this

    try:
        deliver.delay(delivery_ids=delivery_ids)
    except Exception:
        log.warning("webhooks: could not queue a delivery; the sweep sends it", exc_info=True)
