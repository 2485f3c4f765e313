"""Reports as read tools: the same selectors and tables as the console's page and CSV, so the numbers a
program reads are the numbers an operator sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.utils import timezone
from pydantic import BaseModel

from api.tools import Call, Params, tool
from reports import selectors, tables


class TeamParams(Params):
    range: Literal["1d", "7d", "30d", "90d"] = "7d"
    by: Literal["account", "operator", "label"] = "account"
    hours: Literal["clock", "business"] = "clock"


class FunnelParams(Params):
    range: Literal["1d", "7d", "30d", "90d"] = "7d"
    by: Literal["campaign", "variant", "step", "sender"] = "campaign"


class Report(BaseModel):
    start: datetime
    end: datetime
    columns: list[str]
    kinds: list[str]  # per column: count, duration (seconds), rate (0..1) or text
    rows: list[list[Any]]


def _report(period: selectors.Period, table: tables.Table) -> Report:
    return Report(
        start=period.start,
        end=period.end,
        columns=table.headers,
        kinds=[c.kind for c in table.columns],
        rows=table.rows,
    )


def _period(key: str) -> selectors.Period:
    return selectors.Period.from_query({"range": key}, now=timezone.now())


@tool("reports_team", "GET", "/reports/team", scope="fleet:read", read_only=True)
def reports_team(call: Call, params: TeamParams) -> Report:
    """Per account, operator or label: conversations, messages, first response and reply time (average,
    median, p90), automated replies, open and unanswered now — over the key's accounts."""
    period = _period(params.range)
    accounts = list(call.key.accounts.values_list("pk", flat=True))
    rows = selectors.team_report(
        accounts=accounts, period=period, by=params.by, business=params.hours == "business"
    )
    return _report(period, tables.team_table(rows))


@tool("reports_funnel", "GET", "/reports/funnel", scope="fleet:read", read_only=True)
def reports_funnel(call: Call, params: FunnelParams) -> Report:
    """The outreach funnel per campaign, variant, step or sender: planned, sent, delivered, read, replied,
    failed by reason, reply rate with its Wilson interval — over the key's accounts."""
    period = _period(params.range)
    accounts = list(call.key.accounts.values_list("pk", flat=True))
    return _report(
        period, tables.funnel_table(selectors.funnel(accounts=accounts, period=period, by=params.by))
    )
