"""Reads for the admin console: the fleet list, one account's page, alerts, the login wizard's state."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import budgets, leases
from accounts.models import Account, AccountEvent
from accounts.onboarding import attempts_today
from accounts.services import ALERTING, OUTREACH_PAUSED_INDEFINITELY

S = Account.Status
PAGE_SIZE = 25
Kind = AccountEvent.Kind
# Event kinds (besides status changes into a bad state) that the account page lists as errors.
ERROR_KINDS = (Kind.LOGIN_FAILED,)
BAD_STATUSES = (*ALERTING, S.COOLDOWN)
LOGIN_STEP_KINDS = (
    Kind.LOGIN_CODE_REQUESTED,
    Kind.LOGIN_CODE_SUBMITTED,
    Kind.LOGIN_PASSWORD_SUBMITTED,
    Kind.LOGIN_FAILED,
)


@dataclass(frozen=True)
class FleetFilters:
    q: str = ""
    status: str = ""
    host: str = ""
    attention: bool = False


@dataclass(frozen=True)
class FleetRow:
    account: Account
    host: str  # the session host holding the account now, or ""
    budgets: dict[str, budgets.Usage]
    outreach_paused: bool
    paused_until: datetime | None  # a pause with an end (spam limit); None when indefinite or none
    logging_in: bool  # the login wizard is under way

    @property
    def phone(self) -> str:
        """The number as people write it; imports without one show nothing until a host learns it."""
        number = self.account.phone
        return "" if number.startswith("import-") else f"+{number}"


def fleet_list(*, filters: FleetFilters) -> QuerySet[Account]:
    accounts = Account.objects.select_related("lease", "api_app").order_by("id")
    if filters.q:
        q = filters.q.strip().lstrip("@+")
        accounts = accounts.filter(
            Q(phone__icontains=q)
            | Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    if filters.status:
        accounts = accounts.filter(status=filters.status)
    if filters.attention:
        accounts = accounts.filter(status__in=ALERTING)
    if filters.host:
        accounts = accounts.filter(pk__in=leases.held().filter(holder=filters.host).values("account_id"))
    return accounts


def fleet_page(*, filters: FleetFilters, page: Any) -> tuple[Page, list[FleetRow]]:
    """One page of the fleet, each row with its host and today's budget use (from Redis)."""
    paginator = Paginator(fleet_list(filters=filters), PAGE_SIZE)
    current = paginator.get_page(page)
    return current, fleet_rows(accounts=list(current.object_list))


def fleet_rows(*, accounts: Sequence[Account]) -> list[FleetRow]:
    """Rows for many accounts, with every account's own limits looked up at once."""
    limits = budgets.limits_for(account_ids=[account.pk for account in accounts])
    alive = leases.live_holders()
    return [
        fleet_row(account=account, limits=limits.get(account.pk, {}), alive=alive) for account in accounts
    ]


def fleet_row(
    *, account: Account, limits: Mapping[str, budgets.Budget] | None = None, alive: set[str] | None = None
) -> FleetRow:
    paused = account.outreach_paused_until
    return FleetRow(
        account=account,
        host=holding_host(account=account, alive=alive),
        budgets=budgets.usage(account_id=account.pk, limits=limits),
        outreach_paused=bool(paused and paused > timezone.now()),
        paused_until=paused if paused and paused < OUTREACH_PAUSED_INDEFINITELY else None,
        logging_in=account.status in (S.NEW, S.CODE_SENT, S.PASSWORD_NEEDED),
    )


def holding_host(*, account: Account, alive: set[str] | None = None) -> str:
    """The session host holding the account now, if it is alive (``alive``: leases.live_holders())."""
    lease = getattr(account, "lease", None)
    if lease is None or not lease.holder:
        return ""
    if alive is None:
        alive = leases.live_holders()
    return lease.holder if lease.holder in alive else ""


def fleet_hosts() -> list[str]:
    """Session hosts holding at least one account now (for the fleet filter)."""
    return list(leases.held().values_list("holder", flat=True).distinct().order_by("holder"))


@dataclass(frozen=True)
class Alerts:
    """Accounts that need an admin now: re-login required, banned, spam-limited."""

    total: int
    by_status: list[tuple[str, str, int]]  # (status, label, how many)
    accounts: list[Account]  # the most recent few


ALERT_LABELS = {S.REAUTH_REQUIRED: "re-login required", S.BANNED: "banned", S.SPAM_LIMITED: "spam-limited"}


def alerts(*, limit: int = 10) -> Alerts:
    rows = Account.objects.filter(status__in=ALERTING).values("status").annotate(n=Count("id"))
    counts = {row["status"]: row["n"] for row in rows}
    by_status = [
        (str(status), label, counts[status]) for status, label in ALERT_LABELS.items() if status in counts
    ]
    recent = list(Account.objects.filter(status__in=ALERTING).order_by("-status_changed_at")[:limit])
    return Alerts(total=sum(counts.values()), by_status=by_status, accounts=recent)


def alert_count() -> int:
    return Account.objects.filter(status__in=ALERTING).count()


def account_events(*, account: Account, limit: int = 50) -> list[AccountEvent]:
    return list(account.events.select_related("actor")[:limit])


def service_notifications(*, account: Account, limit: int = 10) -> list[AccountEvent]:
    """Telegram's own messages to the account (login codes masked on the way in), newest first."""
    return list(account.events.filter(kind=Kind.SERVICE_NOTIFICATION)[:limit])


def account_errors(*, account: Account, limit: int = 10) -> list[AccountEvent]:
    bad = Q(kind__in=ERROR_KINDS) | Q(kind=Kind.STATUS, to_status__in=BAD_STATUSES)
    return list(account.events.filter(bad)[:limit])


def operator_choices() -> QuerySet[Any]:
    User = get_user_model()
    return User.objects.filter(role=User.Role.OPERATOR, is_active=True).order_by("username")


# Outreach owns warm-up plans and sits above accounts: it registers how to describe an account's stage
# (outreach.apps), so that the account page shows it without accounts importing outreach.
_warmup_stage_of: Callable[[Account], str | None] | None = None


def warmup_stage_from(describe: Callable[[Account], str | None]) -> None:
    global _warmup_stage_of
    _warmup_stage_of = describe


def warmup_stage(*, account: Account) -> str | None:
    """The account's warm-up stage ("day 3 of 14"), or None when it has no warm-up plan."""
    return _warmup_stage_of(account) if _warmup_stage_of is not None else None


# --- the login wizard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginState:
    attempts_today: int
    needs_confirmation: bool  # the next code request must be confirmed (LOGIN_ATTEMPTS_WARNING)
    error: str  # why the last step failed, in plain words; "" when it did not
    retry_at: datetime | None  # Telegram's flood wait on the last step ends then
    hint: str  # the 2FA password hint


_WAIT = re.compile(r"wait (\d+) s")
_HINT = re.compile(r"\(hint: (.*)\)$")


def login_state(*, account: Account) -> LoginState:
    attempts = attempts_today(account)
    last = account.events.filter(kind__in=LOGIN_STEP_KINDS).first()
    error = last.reason if last is not None and last.kind == "login_failed" else ""
    hint = _HINT.search(account.status_reason) if account.status == S.PASSWORD_NEEDED else None
    return LoginState(
        attempts_today=attempts,
        needs_confirmation=attempts >= settings.LOGIN_ATTEMPTS_WARNING,
        error=error,
        retry_at=flood_wait_end(error=error, at=last.at) if last is not None and error else None,
        hint=hint.group(1) if hint else "",
    )


def flood_wait_end(*, error: str, at: datetime) -> datetime | None:
    """When a login step refused with a flood wait may be tried again (None if it is over or not one).

    The login commands report the wait in their error text ("Telegram asks to wait 120 s …")."""
    match = _WAIT.search(error)
    if match is None:
        return None
    end = at + timedelta(seconds=int(match.group(1)))
    return end if end > timezone.now() else None
