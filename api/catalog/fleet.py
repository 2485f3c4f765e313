"""The fleet: the key's accounts with their health."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from pydantic import BaseModel, Field

from accounts import selectors
from accounts.models import Account
from api.tools import Call, Params, tool


class AccountsParams(Params):
    status: Account.Status | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class Budget(BaseModel):
    used: int
    limit: int
    remaining: int


class AccountHealth(BaseModel):
    id: int
    phone: str
    name: str
    username: str
    status: str
    reason: str  # why it is in that status, in plain words
    last_error: str  # the last account-level error's class (re-login, ban, flood), or ""
    flood_waits_24h: int
    budgets: dict[str, Budget]
    holder: str  # the session host holding it now, or ""
    cooldown_until: datetime | None
    outreach_paused: bool


class Accounts(BaseModel):
    accounts: list[AccountHealth]
    total: int


@tool("accounts_list", "GET", "/accounts", scope="fleet:read", read_only=True)
def accounts_list(call: Call, params: AccountsParams) -> Accounts:
    """The key's accounts with their health: status and why, last error, flood waits in the last 24 h,
    budgets left and the session host holding each."""
    found = call.key.accounts.select_related("lease").order_by("pk")
    if params.status:
        found = found.filter(status=params.status)
    since = timezone.now() - timedelta(hours=24)
    found = found.annotate(
        flood_waits=Count(
            "events",
            filter=Q(events__at__gte=since, events__to_status=Account.Status.COOLDOWN),
            distinct=True,
        )
    )
    page = list(found[params.offset : params.offset + params.limit])
    rows = selectors.fleet_rows(accounts=page)
    return Accounts(accounts=[_health(row) for row in rows], total=found.count())


def _health(row: selectors.FleetRow) -> AccountHealth:
    account = row.account
    errors = selectors.account_errors(account=account, limit=1)
    return AccountHealth(
        id=account.pk,
        phone=row.phone,
        name=account.display_name,
        username=account.username,
        status=account.status,
        reason=account.status_reason,
        last_error=errors[0].to_status if errors else "",
        flood_waits_24h=getattr(account, "flood_waits", 0),
        budgets={action: Budget(**usage) for action, usage in row.budgets.items()},
        holder=row.host,
        cooldown_until=account.cooldown_until,
        outreach_paused=row.outreach_paused,
    )
