"""Selector rows as tables: one list of columns per report, used by the page and by the CSV export, so a
table and its CSV can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reports.selectors import BUCKET_LABELS, FAILURE_KINDS, FunnelRow, TeamRow


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Any], Any]
    kind: str = "count"  # count, duration (seconds), rate (0..1), text


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[list[Any]]

    @property
    def headers(self) -> list[str]:
        return [c.title for c in self.columns]

    def cells(self) -> list[list[tuple[Any, str]]]:
        return [[(v, c.kind) for v, c in zip(row, self.columns, strict=True)] for row in self.rows]


def _table(columns: list[Column], items: list[Any]) -> Table:
    return Table(columns=columns, rows=[[c.value(item) for c in columns] for item in items])


def _timing(title: str, attr: str) -> list[Column]:
    return [
        Column(f"{title} count", lambda r: getattr(r, attr).count),
        Column(f"{title} avg", lambda r: getattr(r, attr).avg, "duration"),
        Column(f"{title} median", lambda r: getattr(r, attr).median, "duration"),
        Column(f"{title} p90", lambda r: getattr(r, attr).p90, "duration"),
    ]


TEAM_COLUMNS = [
    Column("Name", lambda r: r.name, "text"),
    Column("Conversations", lambda r: r.conversations),
    Column("Inbound", lambda r: r.inbound),
    Column("Outbound", lambda r: r.outbound),
    *_timing("First response", "first_response"),
    *_timing("Reply time", "reply_time"),
    Column("Automated replies", lambda r: r.automated_replies),
    Column("Open now", lambda r: r.open_now),
    Column("Unanswered now", lambda r: r.unanswered_now),
]


def team_table(rows: list[TeamRow]) -> Table:
    return _table(TEAM_COLUMNS, rows)


def histogram_table(histogram: dict[str, list[int]]) -> Table:
    columns = [
        Column("Bucket", lambda i: BUCKET_LABELS[i], "text"),
        Column("First response", lambda i: histogram["first_response"][i]),
        Column("Reply time", lambda i: histogram["reply_time"][i]),
    ]
    return _table(columns, list(range(len(BUCKET_LABELS))))


def _interval(row: FunnelRow, end: int) -> float | None:
    interval = row.reply_interval
    return interval[end] if interval and row.enough_data else None


def _failed(kind: str) -> Callable[[FunnelRow], int]:
    return lambda row: row.failed.get(kind, 0)


FUNNEL_COLUMNS = [
    Column("Name", lambda r: r.name, "text"),
    Column("Planned", lambda r: r.planned),
    Column("Sent", lambda r: r.sent),
    Column("Delivered", lambda r: r.delivered),
    Column("Read", lambda r: r.read),
    Column("Replied", lambda r: r.replied),
    *[Column(f"Failed: {kind}", _failed(kind)) for kind in FAILURE_KINDS],
    Column("Reply rate", lambda r: r.reply_rate if r.enough_data else None, "rate"),
    Column("Reply rate low (95 %)", lambda r: _interval(r, 0), "rate"),
    Column("Reply rate high (95 %)", lambda r: _interval(r, 1), "rate"),
    Column("Variant text", lambda r: r.example, "text"),
]


def funnel_table(rows: list[FunnelRow]) -> Table:
    return _table(FUNNEL_COLUMNS, rows)
