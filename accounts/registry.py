"""Account commands, declared once: the unit everything that acts through an account is built from.

A command is an ``async`` body that runs on the session host holding the account, declared with
``@command``: a dotted name, a params model (its first annotation), a result model (its return
annotation), the budget it takes, whether it needs a signed-in account, and read-only / destructive
flags. Declaring it registers the Celery task (routed to the account's queue when queued), and the host
runs the body with the lease check, the budget and Telegram's errors classified (accounts.host.commands).

Callers use the command object::

    operation_id = send.queue(account, peer="@ann", text="hi", random_id=7)   # after commit
    sent = send.run(account, peer="@ann", text="hi", random_id=7, timeout=30)  # waits, typed result

Every run ends in an ``Operation`` row (done / failed with a plain reason / waiting with seconds) and
the ``command_finished`` signal, which is the one place other code subscribes to outcomes.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_type_hints

from celery import shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable
from pydantic import BaseModel, ConfigDict, ValidationError

from accounts import budgets
from accounts.host.current import current_host
from accounts.host.orm import db
from accounts.models import Account, Operation, command_queue
from crm.prune import delete_in_batches

if TYPE_CHECKING:
    from accounts.host.hosted import Hosted

log = logging.getLogger(__name__)

UNQUEUED = "The message broker could not be reached, so the command was never queued; try again"

# Sent on the host as every outcome is recorded, inside the transaction that records it: sender=the
# Command, operation=the Operation row.
command_finished = Signal()


class Params(BaseModel):
    """A command's params: JSON on the broker, validated again on the host. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Result(BaseModel):
    """A command's result, as the caller reads it."""

    model_config = ConfigDict(frozen=True)


class NoParams(Params):
    pass


class Done(Result):
    pass


# --- what can go wrong, typed ------------------------------------------------------------------------


class CommandError(Exception):
    """The command did not do what was asked; ``reason`` is plain words for a person."""

    kind: ClassVar[str] = "failed"

    def __init__(self, reason: str, *, status: str = "", code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # the account's status after an account-level error, else ""
        self.code = code  # Telegram's error name (USERNAME_INVALID, …) when Telegram refused


class InputError(CommandError):
    """The request cannot work as given (a bad peer, a message that no longer exists, …)."""

    kind = "input"


class Unavailable(CommandError):
    """The account cannot run commands now: banned, re-login needed, disabled, gone, not logged in."""

    kind = "unavailable"


class HostTimeout(CommandError):
    """No session host finished the command in time; it may still run (the operation says)."""

    kind = "host_timeout"


class Wait(CommandError):
    """Not now: Telegram's flood wait, the account's own budget, or a chat's slow mode. The command
    runs again by itself after ``seconds``."""

    kind = "wait"
    REASONS = ("flood", "budget", "slowmode")

    def __init__(self, seconds: int, reason: str) -> None:
        assert reason in self.REASONS
        words = {
            "flood": "Telegram asks to wait",
            "budget": "The account's budget refills in",
            "slowmode": "The chat's slow mode allows the next message in",
        }[reason]
        super().__init__(f"{words} {seconds} s")
        self.seconds = seconds
        self.wait_reason = reason


ERROR_KINDS = {cls.kind: cls for cls in (CommandError, InputError, Unavailable, HostTimeout)}


# --- declaring -----------------------------------------------------------------------------------

P = TypeVar("P", bound=Params)
R = TypeVar("R", bound=Result)
Body = Callable[["Hosted", P], Awaitable[R]]
FailureHook = Callable[[int, P, CommandError], None]

REGISTRY: dict[str, Command[Any, Any]] = {}


@dataclass(frozen=True, eq=False)
class Command(Generic[P, R]):
    name: str
    body: Body[P, R]
    params: type[P]
    result: type[R]
    budget: str | None
    login: bool
    read_only: bool
    destructive: bool
    timeout: float  # how long the host lets the body run
    on_failure: FailureHook[P] | None  # sync, on the worker: what the failure means for our own rows
    task: Any

    def validate(self, values: dict[str, Any]) -> P:
        try:
            return self.params.model_validate(values)
        except ValidationError as error:
            raise InputError(_plain(error)) from None

    def queue(self, account: Account | int, **values: Any) -> str:
        """Queue the command for the account's host once the caller's transaction commits; returns the
        operation id, whose outcome ``outcome()`` or ``wait()`` read."""
        params = self.validate(values)
        account_id = account if isinstance(account, int) else account.pk
        operation_id = str(uuid.uuid4())
        Operation.objects.create(id=operation_id, account_id=account_id, command=self.name)
        transaction.on_commit(lambda: self._publish(operation_id, account_id, params))
        return operation_id

    def _publish(self, operation_id: str, account_id: int, params: P) -> None:
        """Hand the command to the broker. A broker restart takes seconds, so publishing is retried for
        COMMAND_PUBLISH_PATIENCE seconds; a broker still away after that fails the operation for good, in
        plain words and through the command's failure hook (a reply marked failed, a campaign send given
        back to the pool). Otherwise it would stay queued with no message any host could ever consume
        (invariant 2: commands are never lost)."""
        patience = settings.COMMAND_PUBLISH_PATIENCE
        try:
            self.task.apply_async(
                kwargs={"account_id": account_id, **params.model_dump(mode="json")},
                queue=command_queue(account_id),
                task_id=operation_id,
                retry=True,
                retry_policy={"max_retries": math.ceil(patience * 2), "interval_start": 0,
                              "interval_step": 0.5, "interval_max": 0.5},
            )  # fmt: skip
        except BrokerUnreachable:
            log.warning("command %s for account %s: the broker is unreachable", self.name, account_id)
            error = CommandError(UNQUEUED)
            if self.on_failure is not None:
                self.on_failure(account_id, params, error)
            record(self, operation_id=operation_id, account_id=account_id, error=error)

    def run(self, account: Account | int, *, timeout: float = 60.0, **values: Any) -> R:
        """Queue the command and wait for its result; raises Wait, Unavailable, InputError,
        HostTimeout or CommandError."""
        operation_id = self.queue(account, **values)
        return self.result.model_validate(wait(operation_id, timeout=timeout))


def command(
    name: str,
    *,
    budget: str | None = None,
    login: bool = True,
    read_only: bool = False,
    destructive: bool = False,
    timeout: float = 120.0,
    on_failure: FailureHook[Any] | None = None,
) -> Callable[[Body[P, R]], Command[P, R]]:
    """Declare an account command; see the module docstring. The params and result models are the
    body's annotations: ``async def send(hosted: Hosted, params: SendParams) -> Sent``."""

    def declare(body: Body[P, R]) -> Command[P, R]:
        if name in REGISTRY:
            raise ValueError(f"command {name} is declared twice")
        hints = get_type_hints(body, localns={"Hosted": Any})
        params, result = hints["params"], hints["return"]
        assert issubclass(params, Params) and issubclass(result, Result), name
        spec: Command[P, R] = Command(
            name=name,
            body=body,
            params=params,
            result=result,
            budget=budget,
            login=login,
            read_only=read_only,
            destructive=destructive,
            timeout=timeout,
            on_failure=on_failure,
            task=_task(name),
        )
        REGISTRY[name] = spec
        return spec

    return declare


def _task(name: str) -> Any:
    @shared_task(bind=True, name=name, max_retries=None)
    def task(self: Any, *, account_id: int, **values: Any) -> dict[str, Any]:
        host = current_host()
        if host is None:
            raise Reject("this worker is not a session host", requeue=True)
        return host.run_command(self, REGISTRY[name], account_id=account_id, values=values)

    return task


async def spend(hosted: Hosted, action: str) -> None:
    """Take one of the account's ``action`` budget, or wait for it (the command runs again later). The
    one budget policy: its warm-up ramp and its spam-limit pause apply whoever asks (accounts.budgets)."""
    decision = await db(budgets.spend)(account_id=hosted.account_id, action=action)
    if not decision.allowed:
        if decision.refused:
            raise Unavailable(decision.refused, status=decision.status)
        raise Wait(int(decision.retry_after) + 1, "budget")


def _plain(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(problems)


# --- outcomes ------------------------------------------------------------------------------------

TERMINAL = (Operation.State.DONE, Operation.State.FAILED, Operation.State.WAITING)


def record(
    spec: Command[Any, Any],
    *,
    operation_id: str,
    account_id: int,
    result: Result | None = None,
    error: CommandError | None = None,
) -> None:
    """Write the outcome of one run and tell subscribers. Called on the worker after the body ran."""
    fields: dict[str, Any] = {
        "account_id": account_id,
        "command": spec.name,
        "updated_at": timezone.now(),
        "reason": "",
        "error": "",
        "status": "",
        "wait_seconds": None,
        "wait_reason": "",
        "result": None,
        "code": "",
    }
    if isinstance(error, Wait):
        fields.update(
            state=Operation.State.WAITING,
            reason=error.reason[:255],
            wait_seconds=error.seconds,
            wait_reason=error.wait_reason,
        )
    elif error is not None:
        fields.update(
            state=Operation.State.FAILED,
            reason=error.reason[:255],
            error=error.kind,
            status=error.status,
            code=error.code[:64],
        )
    else:
        fields.update(state=Operation.State.DONE, result=result.model_dump(mode="json") if result else {})
    # One transaction: what subscribers write about the outcome (a webhook event) commits with it.
    with transaction.atomic():
        operation, _ = Operation.objects.update_or_create(id=operation_id, defaults=fields)
        command_finished.send(sender=spec, operation=operation)


@dataclass(frozen=True)
class Outcome:
    """Where an operation stands, as a caller reads it."""

    id: str
    command: str
    state: str
    reason: str
    error: str
    status: str
    wait_seconds: int | None
    wait_reason: str
    result: dict[str, Any] | None
    code: str = ""

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


def outcome(operation_id: str) -> Outcome | None:
    """The operation's outcome so far, or None for an unknown (or pruned) operation."""
    try:
        uuid.UUID(str(operation_id))
    except ValueError:
        return None
    operation = Operation.objects.filter(pk=operation_id).first()
    if operation is None:
        return None
    return Outcome(
        id=str(operation.pk),
        command=operation.command,
        state=operation.state,
        reason=operation.reason,
        error=operation.error,
        status=operation.status,
        wait_seconds=operation.wait_seconds,
        wait_reason=operation.wait_reason,
        result=operation.result,
        code=operation.code,
    )


def wait(operation_id: str, *, timeout: float) -> dict[str, Any]:
    """Wait for the operation to finish; returns its result, or raises its typed error."""
    deadline = time.monotonic() + timeout
    pause = 0.005  # most commands finish in tens of milliseconds: look early, then less often
    while True:
        found = outcome(operation_id)
        if found is not None and found.finished:
            return raise_for(found)
        if time.monotonic() >= deadline:
            raise HostTimeout(f"No session host finished the command within {timeout:g} s; it stays queued")
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.4, 0.2)


def raise_for(found: Outcome) -> dict[str, Any]:
    if found.state == Operation.State.DONE:
        return found.result or {}
    if found.state == Operation.State.WAITING:
        raise Wait(found.wait_seconds or 0, found.wait_reason or "flood")
    raise ERROR_KINDS.get(found.error, CommandError)(found.reason, status=found.status, code=found.code)


def operations_prune(*, older_than: timedelta, batch: int = 5000) -> int:
    """Delete operations last touched before ``older_than`` ago, in batches (no long lock)."""
    cutoff = timezone.now() - older_than
    return delete_in_batches(Operation.objects.filter(updated_at__lt=cutoff), batch=batch)


def declared() -> dict[str, Command[Any, Any]]:
    """Every declared command, by name (the host and the worker import the declaring modules)."""
    return dict(REGISTRY)
