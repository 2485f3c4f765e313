"""Per-account action budgets: token buckets in Redis (ARCHITECTURE invariant 6).

The session host takes from an account's bucket before every Telegram operation. When the bucket is
empty, Switchboard refuses and reschedules the work itself rather than let Telegram answer with a
FLOOD_WAIT or PEER_FLOOD that marks the account. Buckets refill continuously (capacity = the budget,
rate = budget / period), so "20 new DMs a day" never means 20 at midnight and none after.

A bucket lives at ``budget:{database}:{account_id}:{action}`` as a hash of {tokens, ts}. A missing key
is a full bucket, and each key expires once it would have refilled, so idle accounts cost nothing.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypedDict

import redis
from django.conf import settings
from django.utils import timezone
from redis.commands.core import Script

from accounts.models import OUTREACH_PAUSED_INDEFINITELY, Account

MINUTE = 60.0
DAY = 24 * 60 * 60.0


@dataclass(frozen=True)
class Budget:
    """``limit`` actions per ``period`` seconds."""

    limit: int
    period: float


# Conservative defaults for an established account; warm-up plans pass lower or higher limits per account.
DEFAULT_BUDGETS: dict[str, Budget] = {
    "new_dm": Budget(limit=20, period=DAY),
    "message": Budget(limit=20, period=MINUTE),
    "join": Budget(limit=5, period=DAY),
    "resolve_username": Budget(limit=30, period=DAY),
    "scrape_page": Budget(limit=15, period=MINUTE),
    "read": Budget(limit=30, period=MINUTE),  # marking chats read as operators open or answer them
}

# Rescheduled work waits a random 5-25 % longer than strictly needed, so a batch refused together
# does not come back together: bursts at the exact refill instant look like a bot.
JITTER = (0.05, 0.25)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the take could succeed, jitter included; 0.0 when allowed
    remaining: int  # whole tokens left after this take
    refused: str = ""  # why it is refused rather than waited for: the account's outreach is paused
    status: str = ""  # with a refusal: the account's status (spam_limited, or active under an admin's pause)


# Actions that reach people who have not written first, which Telegram's spam limit is about: while the
# account's outreach is paused (spam-limited, or by an admin) they are refused, so the work goes elsewhere
# (a campaign's send back to the pool, for another sender) instead of waiting hours on this account.
OUTREACH_ACTIONS = frozenset({"new_dm", "resolve_username", "join"})

# Where accounts' own limits come from (outreach registers its warm-up ramp; see limits_source_set):
# account id -> overrides, for the accounts asked about that have any.
LimitsSource = Callable[[list[int]], Mapping[int, Mapping[str, Budget]]]
_limits_source: LimitsSource | None = None


def limits_source_set(source: LimitsSource | None) -> None:
    """Register what gives accounts' limits (the warm-up plan's ramp); accounts cannot import the apps
    above it, so outreach hands it over when Django starts (outreach.apps)."""
    global _limits_source
    _limits_source = source


def limits_for(*, account_ids: list[int]) -> Mapping[int, Mapping[str, Budget]]:
    """Many accounts' own limits in one look-up (the fleet page)."""
    return _limits_source(account_ids) if _limits_source is not None and account_ids else {}


def account_limits(*, account_id: int) -> Mapping[str, Budget]:
    return limits_for(account_ids=[account_id]).get(account_id, {})


def spend(*, account_id: int, action: str) -> Decision:
    """The one budget policy every command goes through: the spam-limit (or admin) pause on outreach,
    then the account's own limits — its warm-up ramp, or the defaults."""
    if action in OUTREACH_ACTIONS:
        found = Account.objects.filter(pk=account_id).values_list("outreach_paused_until", "status").first()
        paused, status = found if found else (None, "")
        if paused is not None and paused > timezone.now():
            until = (
                "an admin resumes it"
                if paused >= OUTREACH_PAUSED_INDEFINITELY
                else f"{paused:%Y-%m-%d %H:%M} UTC (Telegram's spam limit)"
            )
            return Decision(
                allowed=False,
                retry_after=0.0,
                remaining=0,
                refused=f"Outreach is paused on this account until {until}",
                status=status,
            )
    return take(account_id=account_id, action=action, limits=account_limits(account_id=account_id))


class Usage(TypedDict):
    used: int
    limit: int
    remaining: int


# Atomic take: refill by elapsed time, then take `amount` only if all of it is there. Redis's own clock
# is used so several hosts with drifting clocks share one notion of time. Floats go back as strings
# because Redis truncates Lua numbers to integers in replies.
_TAKE = """
local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local rate = capacity / period
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
end
if tokens < amount then
  return {0, tostring(tokens), tostring((amount - tokens) / rate)}
end
tokens = tokens - amount
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {1, tostring(tokens), '0'}
"""


@functools.lru_cache(maxsize=4)
def _connect(url: str) -> tuple[redis.Redis, Script]:
    client = redis.Redis.from_url(url)
    return client, client.register_script(_TAKE)


def _redis() -> tuple[redis.Redis, Script]:
    # One client (and connection pool) per URL, created on first use; keyed on the URL so tests
    # that point REDIS_URL elsewhere get their own.
    return _connect(settings.REDIS_URL)


def bucket_key(*, account_id: int, action: str) -> str:
    # Account ids are only unique within one database; several deployments (or test runs) may share
    # a Redis, so the database name is part of the key.
    return f"budget:{settings.DATABASES['default']['NAME']}:{account_id}:{action}"


def budgets_for(*, limits: Mapping[str, Budget | int] | None = None) -> dict[str, Budget]:
    """The defaults with per-account overrides; a bare int changes the limit and keeps the period."""
    merged = dict(DEFAULT_BUDGETS)
    for action, override in (limits or {}).items():
        if action not in DEFAULT_BUDGETS:
            raise ValueError(f"unknown budget action {action!r}")
        if isinstance(override, Budget):
            merged[action] = override
        else:
            merged[action] = Budget(limit=int(override), period=DEFAULT_BUDGETS[action].period)
    return merged


def take(
    *, account_id: int, action: str, amount: int = 1, limits: Mapping[str, Budget | int] | None = None
) -> Decision:
    """Spend ``amount`` of the account's ``action`` budget if it is all there; a refusal spends nothing."""
    budget = _budget(action=action, limits=limits)
    if amount < 1:
        raise ValueError("amount must be at least 1")
    if budget.limit < 1:
        # A budget of zero (an account resting during warm-up) refuses until the plan raises it.
        return Decision(allowed=False, retry_after=_jittered(budget.period), remaining=0)
    if amount > budget.limit:
        raise ValueError(f"{amount} x {action} can never fit in a budget of {budget.limit}")
    _, script = _redis()
    allowed, tokens, wait = script(
        keys=[bucket_key(account_id=account_id, action=action)],
        args=[budget.limit, budget.period, amount],
    )
    remaining = int(float(tokens))
    if allowed:
        return Decision(allowed=True, retry_after=0.0, remaining=remaining)
    return Decision(allowed=False, retry_after=_jittered(float(wait)), remaining=remaining)


def usage(*, account_id: int, limits: Mapping[str, Budget | int] | None = None) -> dict[str, Usage]:
    """How much of each budget the account has spent, as the bucket stands now (for the admin UI), by
    the account's own limits unless others are given."""
    budgets = budgets_for(limits=account_limits(account_id=account_id) if limits is None else limits)
    client, _ = _redis()
    with client.pipeline(transaction=False) as pipe:
        pipe.time()
        for action in budgets:
            pipe.hmget(bucket_key(account_id=account_id, action=action), ["tokens", "ts"])
        (seconds, micros), *states = pipe.execute()
    now = seconds + micros / 1_000_000
    report: dict[str, Usage] = {}
    for (action, budget), (tokens, ts) in zip(budgets.items(), states, strict=True):
        remaining = _refilled(budget=budget, tokens=tokens, ts=ts, now=now)
        report[action] = {"used": budget.limit - remaining, "limit": budget.limit, "remaining": remaining}
    return report


def reset(*, account_id: int) -> None:
    """Refill every bucket of the account (an admin's override, or a fresh start after re-login)."""
    client, _ = _redis()
    client.delete(*(bucket_key(account_id=account_id, action=action) for action in DEFAULT_BUDGETS))


def _budget(*, action: str, limits: Mapping[str, Budget | int] | None) -> Budget:
    if action not in DEFAULT_BUDGETS:
        raise ValueError(f"unknown budget action {action!r}")
    return budgets_for(limits=limits)[action]


def _jittered(seconds: float) -> float:
    return seconds * (1 + random.uniform(*JITTER))


def _refilled(*, budget: Budget, tokens: bytes | None, ts: bytes | None, now: float) -> int:
    if budget.limit < 1:
        return 0
    if tokens is None or ts is None:
        return budget.limit
    rate = budget.limit / budget.period
    current = float(tokens) + max(0.0, now - float(ts)) * rate
    return int(min(float(budget.limit), current))
