"""The one query layer behind every report: cards, tables, charts and CSV all read these rows.

Response times come from the inbox's reporting events (``inbox.ResponseEvent``, written as things
happen); message counts and "now" figures from the inbox itself; the funnel from outreach's sends and
the read receipts Telegram reported (``Conversation.read_outbox_max_id``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from inbox.selectors import accounts_visible

RANGES = {"1d": 1, "7d": 7, "30d": 30, "90d": 90}
DIMENSIONS = ("account", "operator", "label")
FUNNEL_DIMENSIONS = ("campaign", "variant", "step", "sender")
# Histogram buckets (upper bounds in seconds; the last is open).
BUCKETS = (("< 5 min", 300), ("5-15 min", 900), ("15-60 min", 3600), ("1-4 h", 14400), ("4-24 h", 86400))
BUCKET_LABELS = (*(label for label, _ in BUCKETS), "> 24 h")
ENOUGH_SENDS = 100  # below this a reply rate says "not enough data"


@dataclass(frozen=True)
class Period:
    """A time range [start, end), parsed from the query string (unknown values fall back to 7 days)."""

    key: str
    start: datetime
    end: datetime

    @classmethod
    def from_query(cls, query: Any, *, now: datetime | None = None) -> Period:
        key = query.get("range", "7d")
        key = key if key in RANGES else "7d"
        end = now or timezone.now()
        return cls(key=key, start=end - timedelta(days=RANGES[key]), end=end)


@dataclass(frozen=True)
class Timing:
    """One response-time measure over the period: count, average, median and 90th percentile (seconds)."""

    count: int = 0
    avg: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass
class TeamRow:
    key: int | None
    name: str
    conversations: int = 0
    inbound: int = 0
    outbound: int = 0
    first_response: Timing = field(default_factory=Timing)
    reply_time: Timing = field(default_factory=Timing)
    automated_replies: int = 0
    open_now: int = 0
    unanswered_now: int = 0


# --- the team report ---------------------------------------------------------------------------------

# For each dimension: the SQL naming a message's, an event's and an open conversation's group.
# Operators: events and outbound messages by who sent them; inbound, conversations and "now" by assignee.
_GROUPS = {
    "account": {"msg_in": "c.account_id", "msg_out": "c.account_id", "event": "e.account_id",
                "conv": "c.account_id", "join": ""},
    "operator": {"msg_in": "c.assignee_id", "msg_out": "m.sent_by_id", "event": "e.operator_id",
                 "conv": "c.assignee_id", "join": ""},
    "label": {"msg_in": "cl.label_id", "msg_out": "cl.label_id", "event": "lbl",
              "conv": "cl.label_id",
              "join": "JOIN inbox_conversation_labels cl ON cl.conversation_id = c.id"},
}  # fmt: skip


def team_report(
    *, user: Any = None, accounts: list[int] | None = None, period: Period, by: str, business: bool = False
) -> list[TeamRow]:
    """Per account, operator or label: conversations and messages in the period, human first response
    and reply time (clock or business hours), automated replies apart, and open / unanswered now."""
    if by not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {by!r}")
    accounts = _accounts(user=user, accounts=accounts)
    group = _GROUPS[by]
    window = [accounts, period.start, period.end]
    messages = [period.start, period.end, accounts]
    rows: dict[int | None, TeamRow] = {}

    def row(key: int | None) -> TeamRow:
        return rows.setdefault(key, TeamRow(key=key, name=""))

    for key, conversations, inbound in _fetch(_MESSAGES_IN.format(**group), messages):
        row(key).conversations, row(key).inbound = conversations, int(inbound)
    for key, outbound in _fetch(_MESSAGES_OUT.format(**group), messages):
        row(key).outbound = int(outbound)
    value = "e.business_seconds" if business else "e.seconds"
    labels = ", unnest(e.labels) AS lbl" if by == "label" else ""
    for key, kind, automated, n, avg, median, p90 in _fetch(
        _TIMINGS.format(group=group["event"], value=value, labels=labels), window
    ):
        if not automated:
            setattr(row(key), kind, Timing(count=n, avg=avg, median=median, p90=p90))
        elif kind == "reply_time":
            row(key).automated_replies = n
    for key, open_now, unanswered in _fetch(_NOW.format(**group), [accounts]):
        row(key).open_now, row(key).unanswered_now = open_now, unanswered
    names = _names(by, [k for k in rows if k is not None])
    for key, r in rows.items():
        r.name = names.get(key, f"#{key}") if key is not None else _NONE[by]
    return sorted(rows.values(), key=lambda r: (r.key is None, r.name.lower(), r.key or 0))


# The queries behind team_report; the {placeholders} are fixed SQL fragments from _GROUPS.
# Inbound messages are first counted per conversation, one row each, from the index on their date; only
# those rows are grouped: far cheaper than grouping (and de-duplicating conversations of) every message.
_MESSAGES_IN = """
    SELECT {msg_in}, count(*), sum(p.n_in)
    FROM (
        SELECT m.conversation_id, count(*) FILTER (WHERE m.direction = 'in') AS n_in
        FROM inbox_message m
        WHERE m.date >= %s AND m.date < %s AND NOT m.deleted
        GROUP BY 1
    ) p JOIN inbox_conversation c ON c.id = p.conversation_id {join}
    WHERE c.account_id = ANY(%s)
    GROUP BY 1
"""
_MESSAGES_OUT = """
    SELECT {msg_out}, count(*)
    FROM inbox_message m JOIN inbox_conversation c ON c.id = m.conversation_id {join}
    WHERE m.date >= %s AND m.date < %s AND NOT m.deleted AND m.direction = 'out' AND c.account_id = ANY(%s)
    GROUP BY 1
"""
_TIMINGS = """
    SELECT {group}, e.kind, e.automated, count(*), avg({value}),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY {value})
    FROM inbox_responseevent e {labels}
    WHERE e.account_id = ANY(%s) AND e.at >= %s AND e.at < %s AND e.kind IN ('first_response', 'reply_time')
    GROUP BY 1, 2, 3
"""
# Open now (a snooze that ran out counts as open, as in the inbox); unanswered: its last message is inbound.
_NOW = """
    SELECT {conv}, count(*), count(*) FILTER (WHERE c.last_direction = 'in')
    FROM inbox_conversation c {join}
    WHERE c.account_id = ANY(%s) AND c.kind <> 'channel'
      AND (c.state = 'open' OR (c.state = 'snoozed' AND c.snoozed_until <= now()))
    GROUP BY 1
"""
_NONE = {"account": "-", "operator": "Unassigned / automated", "label": "-"}


def _accounts(*, user: Any, accounts: list[int] | None) -> list[int]:
    """The accounts a report covers: those given (an API key's), or those the user may see."""
    if accounts is not None:
        return list(accounts)
    return list(accounts_visible(user=user).values_list("id", flat=True))


def _names(by: str, keys: list[int]) -> dict[int, str]:
    sql = {
        "account": "SELECT id, COALESCE(NULLIF(first_name, ''), phone) FROM accounts_account "
        "WHERE id = ANY(%s)",
        "operator": "SELECT id, username FROM crm_user WHERE id = ANY(%s)",
        "label": "SELECT id, name FROM inbox_label WHERE id = ANY(%s)",
    }[by]
    return dict(_fetch(sql, [keys]))


def team_totals(rows: list[TeamRow]) -> dict[str, int]:
    """The cards: sums over the per-account rows (each conversation and message has one account)."""
    return {
        "conversations": sum(r.conversations for r in rows),
        "inbound": sum(r.inbound for r in rows),
        "outbound": sum(r.outbound for r in rows),
        "first_responses": sum(r.first_response.count for r in rows),
        "replies": sum(r.reply_time.count for r in rows),
        "automated_replies": sum(r.automated_replies for r in rows),
        "open_now": sum(r.open_now for r in rows),
        "unanswered_now": sum(r.unanswered_now for r in rows),
    }


def response_histogram(
    *, user: Any = None, accounts: list[int] | None = None, period: Period, business: bool = False
) -> dict[str, list[int]]:
    """Human first responses and reply times per bucket (< 5 min … > 24 h) over the period."""
    accounts = _accounts(user=user, accounts=accounts)
    value = "business_seconds" if business else "seconds"
    bounds = [b for _, b in BUCKETS]
    found = _fetch(
        f"""
        SELECT kind, width_bucket({value}, %s::float8[]), count(*) FROM inbox_responseevent
        WHERE account_id = ANY(%s) AND at >= %s AND at < %s AND NOT automated
          AND kind IN ('first_response', 'reply_time')
        GROUP BY 1, 2
        """,  # noqa: S608 - value is one of two column names
        [bounds, accounts, period.start, period.end],
    )
    result = {"first_response": [0] * len(BUCKET_LABELS), "reply_time": [0] * len(BUCKET_LABELS)}
    for kind, bucket, n in found:
        result[kind][bucket] = n  # width_bucket: 0 below the first bound … len(bounds) above the last
    return result


# --- the outreach funnel -----------------------------------------------------------------------------

FAILURE_KINDS = ("spam limit", "privacy", "deleted", "blocked", "other")


@dataclass
class FunnelRow:
    key: str
    name: str
    example: str = ""  # for a variant: a text it produced
    planned: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def enough_data(self) -> bool:
        return self.sent >= ENOUGH_SENDS

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.sent if self.sent else None

    @property
    def reply_interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.replied, self.sent)


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval (95 % by default) of a proportion; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


_FUNNEL_KEYS = {
    "campaign": "s.campaign_id::text",
    "variant": "s.campaign_id || ':' || s.step || ':' || s.variant",
    "step": "s.campaign_id || ':' || s.step",
    "sender": "s.account_id::text",
}

# Replied: the first inbound message after the recipient's first campaign message, credited to the last
# send that left before it (private-chat message ids grow per account, so ids order them).
FUNNEL_SQL = """
WITH scoped AS (
    SELECT s.*, c.read_outbox_max_id AS read_max
    FROM outreach_send s
    JOIN outreach_recipient r ON r.id = s.recipient_id
    JOIN inbox_contact ct ON ct.id = r.contact_id
    LEFT JOIN inbox_conversation c ON c.account_id = s.account_id AND c.peer_id = ct.telegram_id
    WHERE s.account_id = ANY(%(accounts)s) AND COALESCE(s.sent_at, s.due_at) >= %(start)s
      AND COALESCE(s.sent_at, s.due_at) < %(end)s
),
replies AS (
    SELECT r.id AS recipient_id, reply.telegram_id AS reply_id
    FROM outreach_recipient r
    JOIN inbox_contact ct ON ct.id = r.contact_id
    JOIN inbox_conversation c ON c.account_id = r.account_id AND c.peer_id = ct.telegram_id
    CROSS JOIN LATERAL (
        SELECT m.telegram_id FROM inbox_message m
        WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.telegram_id > r.first_message_id
        ORDER BY m.telegram_id LIMIT 1
    ) reply
    WHERE r.id IN (SELECT recipient_id FROM scoped) AND r.first_message_id IS NOT NULL
),
credited AS (
    SELECT DISTINCT ON (p.recipient_id) s.id
    FROM replies p JOIN outreach_send s ON s.recipient_id = p.recipient_id
    WHERE s.state = 'sent' AND s.message_id < p.reply_id
    ORDER BY p.recipient_id, s.message_id DESC
)
SELECT {key} AS key, count(*),
       count(*) FILTER (WHERE state = 'sent'),
       count(*) FILTER (WHERE state = 'sent' AND message_id IS NOT NULL),
       count(*) FILTER (WHERE state = 'sent' AND message_id <= read_max),
       count(*) FILTER (WHERE id IN (SELECT id FROM credited)),
       count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%spam%%'),
       count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%privacy%%'),
       count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%deleted%%'),
       count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%blocked%%'),
       count(*) FILTER (WHERE state IN ('failed', 'skipped')),
       min(text)
FROM scoped s GROUP BY 1 ORDER BY 1
"""


def funnel(
    *, user: Any = None, accounts: list[int] | None = None, period: Period, by: str
) -> list[FunnelRow]:
    """Campaign sends in the period per campaign, variant, follow-up step or sender account: planned,
    sent, delivered (Telegram took it and gave it an id), read (the recipient's read receipt reached
    it), replied, failed by reason."""
    if by not in FUNNEL_DIMENSIONS:
        raise ValueError(f"Unknown dimension {by!r}")
    accounts = _accounts(user=user, accounts=accounts)
    found = _fetch(
        FUNNEL_SQL.format(key=_FUNNEL_KEYS[by]),
        {"accounts": accounts, "start": period.start, "end": period.end},
    )
    rows = []
    for key, planned, sent, delivered, read, replied, spam, privacy, deleted, blocked, failed, text in found:
        other = failed - spam - privacy - deleted - blocked
        rows.append(
            FunnelRow(
                key=key, name=key, example=(text or "") if by == "variant" else "",
                planned=planned, sent=sent, delivered=delivered, read=read, replied=replied,
                failed=dict(zip(FAILURE_KINDS, (spam, privacy, deleted, blocked, other), strict=True)),
            )
        )  # fmt: skip
    _name_funnel(rows, by)
    return rows


def _name_funnel(rows: list[FunnelRow], by: str) -> None:
    campaigns = dict(_fetch("SELECT id::text, name FROM outreach_campaign", []))
    senders = dict(
        _fetch("SELECT id::text, COALESCE(NULLIF(first_name, ''), phone) FROM accounts_account", [])
    )
    for r in rows:
        parts = r.key.split(":", 2)
        if by == "sender":
            r.name = senders.get(parts[0], r.key)
            continue
        name = campaigns.get(parts[0], parts[0])
        if by in ("step", "variant"):
            name += f" · step {parts[1]}"
        if by == "variant":
            name += f" · variant {parts[2] or '-'}"
        r.name = name


def _fetch(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
