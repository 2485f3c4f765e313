"""Running an account command: from a Celery pool thread onto the host loop, with the recovery flows.

A command task calls ``run(task, account_id=…, call=…)``. The command runs only while this host holds
the account's lease (checked in the database right before anything reaches Telegram, so a paused
zombie host cannot send); otherwise the message goes back to the account's queue for the real owner.
So does a command whose checks cannot reach the database (or Redis): it has not run, and acking its
failure would lose it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery.exceptions import Reject
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from accounts import leases
from accounts.host import lifecycle
from accounts.host.current import current_host
from accounts.host.errors import NotHeld, Paused
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.host.runtime import SessionHost
from accounts.models import Account
from accounts.telegram import errors as tg_errors

log = logging.getLogger(__name__)

Call = Callable[[Hosted], Awaitable[Any]]  # receives the hosted account (client, grant, status)


class ChatWait(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"slow mode: {seconds} s")
        self.seconds = seconds


class Failed(Exception):
    """The command failed for a reason an operator can read; it is not retried."""

    def __init__(self, reason: str, *, status: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def run(
    task: Any,
    *,
    account_id: int,
    call: Call,
    budget: str | None = None,
    login: bool = False,
    timeout: float = 120.0,
) -> Any:
    """Run ``call(hosted)`` for the account on this host; returns its result or raises Failed (an account
    that no longer exists gets ``{"ok": False, "error": …}``)."""
    host = current_host()
    if host is None:
        raise Reject("this worker is not a session host", requeue=True)
    with requeue_on_database_error():
        gone = not Account.objects.filter(pk=account_id).exists()
    if gone:
        return {"ok": False, "error": "The account no longer exists"}
    try:
        return host.submit(
            execute(host, account_id=account_id, call=call, budget=budget, login=login), timeout=timeout
        )
    except (NotHeld, Paused):
        # Not ours (any more), cooling down, or our lease could not be checked: back to the account's
        # queue, where the owner — or this host later — picks it up again. Nothing is lost or run twice.
        raise _requeue("account not available on this host") from None
    except ChatWait as wait:
        raise task.retry(countdown=wait.seconds + random.uniform(1, 5)) from None


@contextmanager
def requeue_on_database_error() -> Iterator[None]:
    """For the checks a command task makes before its command runs: if the database (or Redis) cannot
    answer them, the message goes back to its queue instead of failing and being acked (invariant 2)."""
    try:
        yield
    except (DatabaseError, RedisError):
        raise _requeue("the database is unavailable") from None


def _requeue(reason: str) -> Reject:
    """Hand the message back to its queue, never acked (invariant 2); the pause keeps a host that
    cannot run it from spinning on it."""
    time.sleep(0.2)
    return Reject(reason, requeue=True)


async def execute(host: SessionHost, *, account_id: int, call: Call, budget: str | None, login: bool) -> Any:
    hosted = host.accounts.get(account_id)
    if hosted is None or hosted.lost:
        raise NotHeld
    try:
        await asyncio.wait_for(hosted.ready.wait(), timeout=60)
    except TimeoutError:
        raise NotHeld from None
    if hosted.paused_until > time.monotonic():
        raise Paused(hosted.paused_until - time.monotonic())
    try:
        if not hosted.lease_certain() or not await db(leases.is_current)(
            holder=host.name, grant=hosted.grant
        ):
            raise NotHeld
        if budget:
            await _take_budget(hosted, budget)
    except (DatabaseError, RedisError):
        # Nothing has reached Telegram: back to the queue (invariant 2). Failing would ack and lose it.
        log.warning("account %s: lease or budget check failed; requeueing the command", account_id)
        raise NotHeld from None
    try:
        return await call(hosted)
    except (NotHeld, Paused, ChatWait, Failed):
        raise
    except (ConnectionError, OSError):
        # The connection dropped mid-command: back to the queue; it runs again once reconnected.
        raise Paused(0) from None
    except (DatabaseError, RedisError):
        if login:
            raise  # a login step is never repeated blindly: each code request counts against the number
        # Back to the queue, never acked and lost (invariant 2). Running it again is safe: sends reuse
        # their stored random_id (invariant 3), joins, reads and scrapes are idempotent.
        log.warning("account %s: the database failed during a command; requeueing it", account_id)
        raise NotHeld from None
    except Exception as error:
        outcome = tg_errors.classify(error)
        if outcome is None:
            raise
        return await _recover(host, hosted, outcome, login=login)


async def _take_budget(hosted: Hosted, action: str) -> None:
    from accounts import budgets

    decision = await db(budgets.take)(account_id=hosted.account_id, action=action)
    if not decision.allowed:
        raise ChatWait(int(decision.retry_after) + 1)


async def _recover(host: SessionHost, hosted: Hosted, outcome: tg_errors.Outcome, *, login: bool) -> Any:
    if isinstance(outcome, tg_errors.InputError):
        raise Failed(outcome.reason)
    if isinstance(outcome, tg_errors.AccountLevel):
        await lifecycle.apply_account_level(host, hosted, outcome)
        raise Failed(outcome.reason, status=outcome.status)
    if outcome.scope == "chat":
        raise ChatWait(outcome.seconds)
    if login:
        # The wizard shows the wait to the admin; retrying a login step blindly risks a lockout.
        raise Failed(f"Telegram asks to wait {outcome.seconds} s before trying again")
    await cool_down(host, hosted, seconds=outcome.seconds, reason=outcome.reason)
    raise Paused(outcome.seconds)


async def cool_down(host: SessionHost, hosted: Hosted, *, seconds: int, reason: str) -> None:
    """Long FLOOD_WAIT: stop consuming this account's queue until the wait (plus jitter) is over."""
    from accounts.services import account_transition

    pause = seconds * random.uniform(1.05, 1.25) + random.uniform(1, 5)
    hosted.paused_until = time.monotonic() + pause
    host.stop_consuming(hosted)
    # Scheduled before the database write: if that fails, the account still resumes its queue.
    host.loop.call_later(pause, lambda: host.loop.create_task(_resume(host, hosted)))
    until = timezone.now() + timedelta(seconds=pause)
    await db(account_transition)(
        account_id=hosted.account_id,
        to=Account.Status.COOLDOWN,
        reason=reason,
        cooldown_until=until,
        force=True,
    )
    hosted.status = Account.Status.COOLDOWN


async def _resume(host: SessionHost, hosted: Hosted) -> None:
    from accounts.services import account_transition

    if host.accounts.get(hosted.account_id) is not hosted or hosted.lost:
        return
    hosted.paused_until = 0.0
    account = await db(Account.objects.get)(pk=hosted.account_id)
    if account.status == Account.Status.COOLDOWN:
        await db(account_transition)(
            account_id=hosted.account_id, to=Account.Status.ACTIVE, reason="Cooldown over"
        )
        hosted.status = Account.Status.ACTIVE
    host.consume(hosted)
