"""The one query layer behind every report: cards, tables, charts and CSV all read these rows.

Response times come from the inbox's reporting events (``inbox.ResponseEvent``, written as things
happen); message counts from the per-day rollups (``reports.models``) and the inbox itself, "now"
figures from the inbox; the funnel from outreach's sends, on which the read receipts Telegram reported
and the replies were recorded as they were ingested (``outreach.outcomes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inbox.selectors import accounts_visible

RANGES = {"1d": 1, "7d": 7, "30d": 30, "90d": 90}
DIMENSIONS = ("account", "operator", "label")
FUNNEL_DIMENSIONS = ("campaign", "variant", "step", "sender")
# Histogram buckets (upper bounds in seconds; the last is open).
# The rollups count human values per bucket with these bounds (reports/migrations/0004): change both.
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

# For each dimension: the SQL naming the group of a conversation's messages ("msg", with "msg_join" from
# the per-conversation counts x) and of an open conversation c ("conv", with "join"). Operators:
# conversations, inbound messages and "now" by assignee; outbound messages (_OPERATOR_OUT) and events by
# who sent them.
_GROUPS = {
    "account": {"msg": "x.account_id", "msg_join": "",
                "conv": "c.account_id", "join": ""},
    "operator": {"msg": "c.assignee_id", "msg_join": "JOIN inbox_conversation c ON c.id = x.conversation_id",
                 "conv": "c.assignee_id", "join": ""},
    "label": {"msg": "cl.label_id",
              "msg_join": "JOIN inbox_conversation_labels cl ON cl.conversation_id = x.conversation_id",
              "conv": "cl.label_id",
              "join": "JOIN inbox_conversation_labels cl ON cl.conversation_id = c.id"},
}  # fmt: skip


def team_report(
    *,
    user: Any = None,
    accounts: list[int] | None = None,
    period: Period,
    by: str,
    business: bool = False,
    rollups: bool = True,
    counts_only: bool = False,
) -> list[TeamRow]:
    """Per account, operator or label: conversations and messages in the period, human first response
    and reply time (clock or business hours), automated replies apart, and open / unanswered now.

    Message counts sum the period's whole days from the per-day rollups and read its partial days at
    either end from the messages; ``rollups=False`` reads every message (the reference they are tested
    against). ``counts_only`` leaves out the averages and percentiles of the times (their counts stay):
    what the cards need, at a fraction of the cost."""
    if by not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {by!r}")
    accounts = _accounts(user=user, accounts=accounts)
    group = _GROUPS[by]
    split = {**period_split(period, rollups=rollups), "accounts": accounts}
    rows: dict[int | None, TeamRow] = {}

    def row(key: int | None) -> TeamRow:
        return rows.setdefault(key, TeamRow(key=key, name=""))

    for key, conversations, inbound, outbound in _fetch(
        _MESSAGES.format(**group, edges=_EDGE_MESSAGES), split
    ):
        row(key).conversations, row(key).inbound = conversations, int(inbound)
        if by != "operator":  # an operator's outbound messages are those they sent, counted below
            row(key).outbound = int(outbound)
    if by == "operator":
        for key, outbound in _fetch(_OPERATOR_OUT.format(edges=_EDGE_MESSAGES), split):
            row(key).outbound = int(outbound)
    timings = _TIMING_COUNTS if counts_only else _TIMINGS
    for key, kind, automated, n, avg, median, p90 in _fetch(
        timings.format(
            column="business_seconds" if business else "seconds", edges=_edge_events(by=by, business=business)
        ),
        {**split, "dimension": by},
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


def period_split(period: Period, *, rollups: bool = True) -> dict[str, Any]:
    """The period as its whole local days [day_from, day_to) (``settings.TIME_ZONE``, the rollups'
    days) and the partial edges [start, days_start) and [days_end, end) read from rows. Without whole
    days (or without ``rollups``) the day range is empty and the edges cover the whole period."""
    zone = ZoneInfo(settings.TIME_ZONE)
    first = period.start.astimezone(zone)
    day_from = first.date() if first.time() == time(0) else first.date() + timedelta(days=1)
    day_to = period.end.astimezone(zone).date()
    days_start = datetime.combine(day_from, time(0), zone)
    days_end = datetime.combine(day_to, time(0), zone)
    if not rollups or days_start >= days_end:
        day_from = day_to
        days_start = days_end = period.end
    return {"start": period.start, "end": period.end, "day_from": day_from, "day_to": day_to,
            "days_start": days_start, "days_end": days_end}  # fmt: skip


# The queries behind team_report; the {placeholders} are fixed SQL fragments from _GROUPS.
# Messages come as per-conversation counts (its whole days from the rollups, its partial days from the
# messages' date index), grouped by what the conversation is now (account, assignee, labels).
# Each partial-day message finds its account by the conversation's key (a nested loop over the few
# thousand messages of a partial day; OFFSET 0 keeps the planner from hashing every conversation instead).
_EDGE_MESSAGES = """
    SELECT m.conversation_id, c.account_id, m.direction, m.sent_by_id
    FROM inbox_message m CROSS JOIN LATERAL (
        SELECT c.account_id FROM inbox_conversation c WHERE c.id = m.conversation_id OFFSET 0
    ) c
    WHERE m.date >= %(start)s AND m.date < %(days_start)s AND NOT m.deleted
      AND c.account_id = ANY(%(accounts)s)
    UNION ALL
    SELECT m.conversation_id, c.account_id, m.direction, m.sent_by_id
    FROM inbox_message m CROSS JOIN LATERAL (
        SELECT c.account_id FROM inbox_conversation c WHERE c.id = m.conversation_id OFFSET 0
    ) c
    WHERE m.date >= %(days_end)s AND m.date < %(end)s AND NOT m.deleted
      AND c.account_id = ANY(%(accounts)s)
"""
# One row per conversation with messages in the period (x.counts: 1 where it is counted). The whole days'
# rows are read in the order of the rollup's index on (account, conversation, day), so they are summed
# per conversation as they come, without sorting or hashing ~100,000 conversation-days at 90 days; a
# conversation seen in the partial days is counted there only if the whole days have none of it.
_MESSAGES = """
    SELECT {msg}, sum(x.counts), sum(x.n_in), sum(x.n_out)
    FROM (
        SELECT d.account_id, d.conversation_id, 1 AS counts, sum(d.inbound) AS n_in, sum(d.outbound) AS n_out
        FROM reports_conversationday d
        WHERE d.account_id = ANY(%(accounts)s) AND d.day >= %(day_from)s AND d.day < %(day_to)s
          AND d.inbound + d.outbound > 0
        GROUP BY 1, 2
        UNION ALL
        SELECT e.account_id, e.conversation_id, (NOT EXISTS (
                   SELECT 1 FROM reports_conversationday r
                   WHERE r.conversation_id = e.conversation_id AND r.day >= %(day_from)s
                     AND r.day < %(day_to)s AND r.inbound + r.outbound > 0
                   OFFSET 0  -- a lookup per conversation, not a hash of every conversation-day
               ))::int,
               count(*) FILTER (WHERE e.direction = 'in'), count(*) FILTER (WHERE e.direction = 'out')
        FROM ({edges}) e
        GROUP BY 1, 2
    ) x {msg_join}
    GROUP BY 1
"""
_OPERATOR_OUT = """
    SELECT operator_id, sum(n)
    FROM (
        SELECT o.operator_id, o.outbound AS n FROM reports_operatorday o
        WHERE o.day >= %(day_from)s AND o.day < %(day_to)s AND o.account_id = ANY(%(accounts)s)
        UNION ALL
        SELECT e.sent_by_id, 1 FROM ({edges}) e WHERE e.direction = 'out'
    ) x
    GROUP BY 1 HAVING sum(n) > 0
"""
# Response values: the whole days' from the rollups (every value is kept there, so the percentiles are
# exact), the partial days' from the events. {group}, {value}, {labels}, {column} are fixed fragments.
_EDGE_EVENTS = """
    SELECT {group} AS key, e.kind, e.automated, {value} AS v FROM inbox_responseevent e {labels}
    WHERE e.at >= %(start)s AND e.at < %(days_start)s AND e.account_id = ANY(%(accounts)s)
      AND e.kind IN ('first_response', 'reply_time')
    UNION ALL
    SELECT {group}, e.kind, e.automated, {value} FROM inbox_responseevent e {labels}
    WHERE e.at >= %(days_end)s AND e.at < %(end)s AND e.account_id = ANY(%(accounts)s)
      AND e.kind IN ('first_response', 'reply_time')
"""
# Human replies: count, average and percentiles per group. Each group's values are unnested and sorted
# on their own (a lateral query per group): sorting every value by group first cost more than the rest.
# Automated replies are only counted.
_TIMINGS = """
    WITH days AS MATERIALIZED (
        SELECT d.key, d.kind, d.{column} AS vals FROM reports_responseday d
        WHERE d.dimension = %(dimension)s AND d.day >= %(day_from)s AND d.day < %(day_to)s
          AND d.account_id = ANY(%(accounts)s) AND NOT d.automated
        UNION ALL
        SELECT e.key, e.kind, array_agg(e.v) FROM ({edges}) e WHERE NOT e.automated GROUP BY 1, 2
    )
    SELECT g.key, g.kind, false, s.n, s.average, s.p[1], s.p[2]
    FROM (SELECT DISTINCT key, kind FROM days) g
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, avg(v) AS average,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v) AS p
        FROM days d, unnest(d.vals) v
        WHERE d.key IS NOT DISTINCT FROM g.key AND d.kind = g.kind
    ) s
    WHERE s.n > 0
    UNION ALL
    SELECT key, kind, true, sum(n)::int, NULL, NULL, NULL
    FROM (
        SELECT d.key, d.kind, d.n FROM reports_responseday d
        WHERE d.dimension = %(dimension)s AND d.day >= %(day_from)s AND d.day < %(day_to)s
          AND d.account_id = ANY(%(accounts)s) AND d.automated
        UNION ALL
        SELECT e.key, e.kind, 1 FROM ({edges}) e WHERE e.automated
    ) x
    GROUP BY 1, 2 HAVING sum(n) > 0
"""
# Only how many human and automated replies each group had (what the cards show).
_TIMING_COUNTS = """
    SELECT key, kind, automated, sum(n)::int, NULL, NULL, NULL
    FROM (
        SELECT d.key, d.kind, d.automated, d.n FROM reports_responseday d
        WHERE d.dimension = %(dimension)s AND d.day >= %(day_from)s AND d.day < %(day_to)s
          AND d.account_id = ANY(%(accounts)s)
        UNION ALL
        SELECT e.key, e.kind, e.automated, 1 FROM ({edges}) e
    ) x
    GROUP BY 1, 2, 3 HAVING sum(n) > 0
"""
_HISTOGRAM = """
    SELECT kind, bucket, sum(n) FROM (
        SELECT d.kind, u.bucket - 1 AS bucket, u.n FROM reports_responseday d,
               unnest(d.{buckets}) WITH ORDINALITY AS u(n, bucket)
        WHERE d.dimension = 'account' AND d.day >= %(day_from)s AND d.day < %(day_to)s
          AND d.account_id = ANY(%(accounts)s) AND NOT d.automated
        UNION ALL
        SELECT e.kind, width_bucket(e.v, %(bounds)s::float8[]), 1 FROM ({edges}) e WHERE NOT e.automated
    ) x
    GROUP BY 1, 2 HAVING sum(n) > 0
"""
_EVENT_GROUPS = {"account": "e.account_id", "operator": "e.operator_id", "label": "lbl"}


def _edge_events(*, by: str, business: bool) -> str:
    return _EDGE_EVENTS.format(
        group=_EVENT_GROUPS[by],
        value="e.business_seconds" if business else "e.seconds",
        labels=", unnest(e.labels) AS lbl" if by == "label" else "",
    )


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
    """The cards: sums over rows where each conversation, message and reply has one row (per account, or
    per operator: a conversation's assignee, a message's or reply's sender; not per label)."""
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
    *,
    user: Any = None,
    accounts: list[int] | None = None,
    period: Period,
    business: bool = False,
    rollups: bool = True,
) -> dict[str, list[int]]:
    """Human first responses and reply times per bucket (< 5 min … > 24 h) over the period."""
    accounts = _accounts(user=user, accounts=accounts)
    found = _fetch(
        _HISTOGRAM.format(
            buckets="business_buckets" if business else "seconds_buckets",
            edges=_edge_events(by="account", business=business),
        ),
        {**period_split(period, rollups=rollups), "accounts": accounts, "dimension": "account",
         "bounds": [b for _, b in BUCKETS]},
    )  # fmt: skip
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
    "campaign": "x.campaign_id::text",
    "variant": "x.campaign_id || ':' || x.step || ':' || x.variant",
    "step": "x.campaign_id || ':' || x.step",
    "sender": "x.account_id::text",
}

# Read and replied were recorded on each send as the receipts and replies were ingested (``read_at``,
# ``replied_at``: see ``outreach.outcomes``), so the funnel only counts sends: first per campaign, step,
# variant and sender (a hash of a few hundred groups; grouping the sends by a text key sorted them with
# the collation), then per requested key; PostgreSQL estimates the range from statistics on the moment
# (reports/migrations/0005) and hashes. Only variants need an example text.
FUNNEL_SQL = """
SELECT {key} AS key, sum(planned)::int, sum(sent)::int, sum(delivered)::int, sum(read)::int,
       sum(replied)::int, sum(spam)::int, sum(privacy)::int, sum(deleted)::int, sum(blocked)::int,
       sum(failed)::int, min(example)
FROM (
    SELECT s.campaign_id, s.step, s.variant, s.account_id, count(*) AS planned,
           count(*) FILTER (WHERE state = 'sent') AS sent,
           count(*) FILTER (WHERE state = 'sent' AND message_id IS NOT NULL) AS delivered,
           count(*) FILTER (WHERE read_at IS NOT NULL) AS read,
           count(*) FILTER (WHERE replied_at IS NOT NULL) AS replied,
           count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%spam%%') AS spam,
           count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%privacy%%') AS privacy,
           count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%deleted%%') AS deleted,
           count(*) FILTER (WHERE state IN ('failed', 'skipped') AND reason ILIKE '%%blocked%%') AS blocked,
           count(*) FILTER (WHERE state IN ('failed', 'skipped')) AS failed,
           {example} AS example
    FROM outreach_send s
    WHERE s.account_id = ANY(%(accounts)s) AND COALESCE(s.sent_at, s.due_at) >= %(start)s
      AND COALESCE(s.sent_at, s.due_at) < %(end)s
    GROUP BY 1, 2, 3, 4
) x
GROUP BY 1 ORDER BY 1
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
        FUNNEL_SQL.format(key=_FUNNEL_KEYS[by], example="min(s.text)" if by == "variant" else "NULL::text"),
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
    # A 90-day report sorts a few hundred thousand response values: in memory, not in files on disk
    # (PostgreSQL's default work_mem is 4 MB). And no JIT: the planner's cost of a report's lookups by key
    # passes jit_above_cost, and compiling costs more than running the query (the messages of a 7-day team
    # report by label: 640 ms with JIT, 119 ms without, on the loaded bench machine). Both last until the
    # end of this transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")
        cursor.execute(sql, params)
        return cursor.fetchall()
