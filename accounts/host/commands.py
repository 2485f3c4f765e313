"""Running a declared command (accounts.registry) on this host: from a Celery pool thread onto the host
loop, with the lease check, the budget, Telegram's errors classified and the outcome recorded.

The command runs only while this host holds the account's lease (checked in the database right before
anything reaches Telegram, so a paused zombie host cannot send); otherwise the message goes back to the
account's queue for the real owner. So does a command whose checks cannot reach the database (or
Redis): it has not run, and acking its failure would lose it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery.exceptions import Reject
from django.db import DatabaseError, connection
from django.utils import timezone
from redis.exceptions import RedisError

from accounts import leases
from accounts.host import lifecycle
from accounts.host.errors import NotHeld, Paused
from accounts.host.hosted import Hosted
from accounts.host.interface import Host
from accounts.host.orm import db
from accounts.models import HOSTED_STATUSES, Account
from accounts.registry import (
    Command,
    CommandError,
    InputError,
    Params,
    Result,
    Unavailable,
    Wait,
    record,
    spend,
)
from accounts.services import account_flood_wait, account_touch, account_transition
from accounts.telegram import errors as tg_errors

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong while running the command; try again"
# How long a command handed out while its account is not connected waits for it on a pool thread.
READY_WAIT = 5.0
# How long the outcome of a command that has run is retried while the database is away.
RECORD_PATIENCE = 15.0
RESUME_ATTEMPTS = 6  # tries at saving "cooldown over", 1, 2, 4, 8 and 16 s apart


def run(host: Host, task: Any, spec: Command[Any, Any], *, account_id: int, values: dict[str, Any]) -> Any:
    """The Celery task of every command: run it here, record its outcome, return the outcome as JSON."""
    operation_id = str(task.request.id)
    try:
        params = spec.validate(values)
        with requeue_on_database_error():
            if not Account.objects.filter(pk=account_id).exists():
                raise Unavailable("The account no longer exists")
        result = host.submit(execute(host, spec, account_id=account_id, params=params), timeout=spec.timeout)
    except (NotHeld, Paused) as not_here:
        unhosted = _unhosted(account_id)
        if unhosted is not None:
            # Dropped because it wants no host any more (banned, re-login needed, disabled): no host
            # will consume its queue, so the command fails now instead of waiting there for ever.
            _failed(spec, operation_id, account_id, values, unhosted)
            return {"ok": False, "error": unhosted.reason, "status": unhosted.status}
        # Not ours (any more), cooling down, or our lease could not be checked: back to the account's
        # queue, where the owner — or this host later — picks it up again. Nothing is lost or run twice.
        if isinstance(not_here, Paused) and not_here.flood:
            _record(spec, operation_id, account_id, error=Wait(int(not_here.seconds), "flood"))
        raise _requeue("account not available on this host") from None
    except Wait as wait:
        _record(spec, operation_id, account_id, error=wait)
        raise task.retry(countdown=wait.seconds + random.uniform(1, 5)) from None
    except CommandError as error:
        _failed(spec, operation_id, account_id, values, error)
        return {"ok": False, "error": error.reason, "status": error.status}
    except Reject:
        raise
    except Exception:
        log.exception("command %s for account %s failed", spec.name, account_id)
        _failed(spec, operation_id, account_id, values, CommandError(SOMETHING_WENT_WRONG))
        raise
    _record(spec, operation_id, account_id, result=result)
    if not spec.read_only:
        _quietly(account_touch, account_id=account_id)
    return {"ok": True, **result.model_dump(mode="json")}


def _unhosted(account_id: int) -> Unavailable | None:
    """Why no host will run this account's commands (its status wants none), or None when one may."""
    with requeue_on_database_error():
        account = Account.objects.filter(pk=account_id).only("status", "status_reason").first()
    if account is None:
        return Unavailable("The account no longer exists")
    if account.status in HOSTED_STATUSES:
        return None
    return Unavailable(account.status_reason or account.get_status_display(), status=account.status)


def _failed(
    spec: Command[Any, Any], operation_id: str, account_id: int, values: dict[str, Any], error: CommandError
) -> None:
    if spec.on_failure is not None:
        try:
            params = spec.validate(values)
        except InputError:
            params = None  # nothing of ours was touched by a command whose params never parsed
        if params is not None:
            spec.on_failure(account_id, params, error)
    _record(spec, operation_id, account_id, error=error)


def _record(
    spec: Command[Any, Any],
    operation_id: str,
    account_id: int,
    *,
    result: Result | None = None,
    error: CommandError | None = None,
) -> None:
    # The command has run (or failed for good): it is never run again for want of its outcome, and an
    # outcome never written leaves the operation queued for ever (a reply "sending"). A database restart
    # takes a few seconds: retry for RECORD_PATIENCE seconds, each time on a fresh connection.
    deadline = time.monotonic() + RECORD_PATIENCE
    pause = 0.25
    while True:
        try:
            record(spec, operation_id=operation_id, account_id=account_id, result=result, error=error)
            return
        except (DatabaseError, RedisError):
            if time.monotonic() + pause > deadline:
                log.warning("the outcome of %s is not recorded", operation_id, exc_info=True)
                return
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except (DatabaseError, RedisError):
        log.warning("%s failed after a command ran; its outcome is not recorded", fn.__name__, exc_info=True)


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


async def execute(host: Host, spec: Command[Any, Any], *, account_id: int, params: Params) -> Result:
    hosted = host.accounts.get(account_id)
    if hosted is None or hosted.lost:
        raise NotHeld
    try:
        # Handed out just before the connection dropped (the host takes commands only while connected):
        # a reconnect is often that quick; otherwise the command waits in its queue, not on a pool thread.
        await asyncio.wait_for(hosted.ready.wait(), timeout=READY_WAIT)
    except TimeoutError:
        raise NotHeld from None
    if hosted.paused_until > time.monotonic():
        raise Paused(hosted.paused_until - time.monotonic())
    try:
        if not hosted.lease_certain() or not await db(leases.is_current)(
            holder=host.name, grant=hosted.grant
        ):
            raise NotHeld
        if spec.login and not hosted.authorized:
            raise Unavailable("The account is not logged in")
        if spec.budget:
            await spend(hosted, spec.budget)
    except (DatabaseError, RedisError):
        # Nothing has reached Telegram: back to the queue (invariant 2). Failing would ack and lose it.
        log.warning("account %s: lease or budget check failed; requeueing the command", account_id)
        raise NotHeld from None
    login_step = not spec.login
    # A reconnect discards the client and builds another (lifecycle._discard_client), also while the
    # checks above waited: a command finding none goes back to its queue until the account is ready.
    client = hosted.client
    if client is None or not hosted.ready.is_set():
        raise Paused(0)
    try:
        result: Result = await spec.body(hosted, params)
        return result
    except (NotHeld, Paused, CommandError):
        raise
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this command itself was cancelled
        # Telethon cancels the requests in flight when the client is disconnected (its lease lost, the
        # host stopping): back to the queue, like a dropped connection.
        raise Paused(0) from None
    except (DatabaseError, RedisError):
        if login_step:
            raise  # a login step is never repeated blindly: each code request counts against the number
        # Back to the queue, never acked and lost (invariant 2). Running it again is safe: sends reuse
        # their stored random_id (invariant 3), joins, reads and scrapes are idempotent.
        log.warning("account %s: the database failed during a command; requeueing it", account_id)
        raise NotHeld from None
    except Exception as error:
        if tg_errors.connection_lost(error) or hosted.client is not client:
            # The connection dropped mid-command (or the client it ran on was discarded meanwhile, and the
            # body met the gap): back to the queue; it runs again once reconnected. Sends reuse their
            # stored random_id (invariant 3): one that reached Telegram is not sent twice.
            raise Paused(0) from None
        if tg_errors.telegram_trouble(error):
            if login_step:
                raise CommandError("Telegram is having trouble right now; try again in a minute") from None
            # Back to the queue like a dropped connection: sends reuse their random_id (invariant 3).
            log.warning("account %s: Telegram failed %s (%s); requeueing it", account_id, spec.name, error)
            raise Paused(0) from None
        outcome = tg_errors.classify(error)
        if outcome is None:
            name = tg_errors.rpc_name(error)
            if not name:
                raise
            # Telegram refused in a way we have no flow for: the command fails with Telegram's name for
            # it, and the error log (with the exception) reaches Sentry, so the flow can be added.
            log.error(
                "command %s for account %s: Telegram refused it (%s)",
                spec.name,
                account_id,
                name,
                exc_info=True,
            )
            raise CommandError(f"Telegram refused it ({name})", code=name) from None
        return await _recover(host, hosted, outcome, login_step=login_step)


async def _recover(host: Host, hosted: Hosted, outcome: tg_errors.Outcome, *, login_step: bool) -> Any:
    if isinstance(outcome, tg_errors.InputError):
        raise InputError(outcome.reason, code=outcome.code)
    if isinstance(outcome, tg_errors.AccountLevel):
        await lifecycle.apply_account_level(host, hosted, outcome)
        raise Unavailable(outcome.reason, status=outcome.status)
    if outcome.scope == "chat":
        raise Wait(outcome.seconds, "slowmode")
    if login_step:
        # The wizard shows the wait to the admin; retrying a login step blindly risks a lockout.
        raise CommandError(f"Telegram asks to wait {outcome.seconds} s before trying again")
    await cool_down(host, hosted, seconds=outcome.seconds, reason=outcome.reason)
    raise Paused(outcome.seconds, flood=True)


async def cool_down(host: Host, hosted: Hosted, *, seconds: int, reason: str) -> None:
    """Long FLOOD_WAIT: stop consuming this account's queue until the wait (plus jitter) is over."""
    pause = seconds * random.uniform(1.05, 1.25) + random.uniform(1, 5)
    hosted.paused_until = time.monotonic() + pause
    host.stop_consuming(hosted)
    # Scheduled before the database write: if that fails, the account still resumes its queue.
    host.loop.call_later(pause, lambda: host.loop.create_task(_resume(host, hosted)))
    until = timezone.now() + timedelta(seconds=pause)
    await db(account_flood_wait)(account_id=hosted.account_id, seconds=seconds, until=until, reason=reason)
    hosted.status = Account.Status.COOLDOWN


async def _resume(host: Host, hosted: Hosted) -> None:
    if host.accounts.get(hosted.account_id) is not hosted or hosted.lost:
        return
    hosted.paused_until = 0.0
    # The queue first: were the database away right now (a restart), the status change below would fail,
    # and a queue left unconsumed would keep the account's commands waiting for good (invariant 2). Not
    # while disconnected: the reconnect consumes it (lifecycle._supervise).
    if hosted.ready.is_set():
        host.consume(hosted)
    for attempt in range(RESUME_ATTEMPTS):
        try:
            await db(_cooldown_over)(account_id=hosted.account_id)
            break
        except DatabaseError:
            log.warning("account %s: cooldown over, but its status could not be saved yet", hosted.account_id)
            await asyncio.sleep(2**attempt)
    if hosted.status == Account.Status.COOLDOWN:
        hosted.status = Account.Status.ACTIVE


def _cooldown_over(*, account_id: int) -> None:
    if Account.objects.filter(pk=account_id, status=Account.Status.COOLDOWN).exists():
        account_transition(account_id=account_id, to=Account.Status.ACTIVE, reason="Cooldown over")
