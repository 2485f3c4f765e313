"""API tools, declared once. Each becomes a REST route under /api/v1/ (api.rest) and an MCP tool at /mcp
(api.mcp); both doors run it through ``run()``: the key's scope and accounts, the params, the handler,
the answer a program can act on, and the audit log.

A tool::

    @tool("messages_send", "POST", "/accounts/{account}/messages", scope="messages:send", queued=True)
    def messages_send(call: Call, params: SendParams) -> SentMessage:
        ...

Handlers are plain functions (the ORM, account commands through accounts.registry); they raise the
registry's typed errors or ``Problem`` and return the result model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, get_type_hints

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from accounts import registry
from accounts.models import Account
from api.keys import account_for
from api.models import SCOPES, ApiKey, AuditEntry
from crm.text import for_agents

log = logging.getLogger(__name__)
R = TypeVar("R", bound=registry.Result)


# Every text field of a result that came from Telegram (names, titles, usernames, message texts): without
# control, bidi and zero-width characters, so an agent reads it as the data it is.
TelegramText = Annotated[str, AfterValidator(for_agents)]

# How long a write done once per Idempotency-Key remembers its operation (Call.command_once).
ONCE_SECONDS = 24 * 60 * 60


class Params(BaseModel):
    """A tool's params: unknown fields are refused, so a typo is an error and not a silent default."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass


class Problem(BaseModel):
    """Every error answer, on both doors: ``error`` is what a program switches on, ``reason`` plain words."""

    error: str
    reason: str
    status: str | None = None  # the account's status (unavailable)
    retry_after: int | None = None  # seconds (wait)
    wait_reason: str | None = None  # flood, budget or slowmode (wait)
    telegram_error: str | None = None  # Telegram's error name (telegram)
    details: list[dict[str, Any]] | None = None  # the params that failed validation (invalid)
    operation: str | None = None  # the operation still running (host_timeout, accepted)
    operation_url: str | None = None


class Accepted(BaseModel):
    """202: the account's host has the command but did not finish it within the request's time."""

    operation: str
    operation_url: str
    state: str


class Failure(Exception):
    """Answer with this status and problem (the handler's own refusals and every mapped error)."""

    def __init__(self, status: int, problem: Problem, headers: dict[str, str] | None = None) -> None:
        super().__init__(problem.reason)
        self.status = status
        self.problem = problem
        self.headers = headers or {}


def fail(http_status: int, error: str, reason: str, **fields: Any) -> Failure:
    return Failure(http_status, Problem(error=error, reason=reason, **fields))


@dataclass
class Call:
    """Who calls and for which account: what a handler gets besides its params."""

    key: ApiKey
    door: str  # rest or mcp
    account: Account | None = None
    idempotency_key: str = ""
    operation: str = ""  # set by a handler that queued a command, for the audit log
    wait: float = field(default_factory=lambda: float(settings.API_COMMAND_TIMEOUT))

    def command(self, declared: registry.Command[Any, R], **values: Any) -> R:
        """Run an account command for the call's account and wait up to the call's time; the operation is
        kept for a 202 / 504 answer and the audit log. Raises the registry's typed errors."""
        assert self.account is not None
        self.operation = declared.queue(self.account, **values)
        return declared.result.model_validate(registry.wait(self.operation, timeout=self.wait))

    def command_once(self, declared: registry.Command[Any, R], **values: Any) -> R:
        """``command()`` for a write Telegram cannot deduplicate (it takes no random_id, e.g. creating a
        channel): a retry with the same Idempotency-Key reads the first call's operation back instead of
        running the command again. Without a key it is ``command()``."""
        if not self.idempotency_key:
            return self.command(declared, **values)
        assert self.account is not None
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()
        slot = f"api:once:{self.key.pk}:{self.account.pk}:{declared.name}:{digest}"
        self.operation = cache.get(slot) or ""
        if not self.operation:
            self.operation = declared.queue(self.account, **values)
            cache.set(slot, self.operation, ONCE_SECONDS)
        return declared.result.model_validate(registry.wait(self.operation, timeout=self.wait))

    def random_id(self) -> int | None:
        """The random_id an idempotent write sends with: the same for a retry with the same
        Idempotency-Key, so Telegram delivers it once. None without a key."""
        if not self.idempotency_key:
            return None
        account_id = self.account.pk if self.account else 0
        seed = f"{self.key.pk}:{account_id}:{self.idempotency_key}".encode()
        return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") & (2**63 - 1) or 1


Handler = Callable[[Call, Any], BaseModel]


@dataclass(frozen=True)
class Tool:
    name: str  # the MCP tool name and the OpenAPI operation id
    method: str
    path: str  # under /api/v1; "{account}" makes it a per-account tool
    summary: str
    scope: str | None
    params: type[Params]
    result: type[BaseModel]
    handler: Handler
    read_only: bool
    destructive: bool
    queued: bool  # a write that answers 202 with its operation when the host is slow (else 504)

    @property
    def per_account(self) -> bool:
        return "{account}" in self.path

    @property
    def idempotent(self) -> bool:
        return self.read_only or self.method in ("PUT", "DELETE")


TOOLS: dict[str, Tool] = {}


def tool(
    name: str,
    method: str,
    path: str,
    *,
    scope: str | None,
    read_only: bool = False,
    destructive: bool = False,
    queued: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare a tool; its summary is the handler's docstring, its params and result its annotations."""
    assert scope is None or scope in SCOPES, scope  # None: any key (reading back its own operations)
    assert method in ("GET", "POST", "PUT", "PATCH", "DELETE"), method

    def declare(handler: Handler) -> Handler:
        if name in TOOLS:
            raise ValueError(f"tool {name} is declared twice")
        hints = get_type_hints(handler)
        TOOLS[name] = Tool(
            name=name,
            method=method,
            path=path,
            summary=(handler.__doc__ or name).strip().split("\n\n")[0].replace("\n", " "),
            scope=scope,
            params=hints["params"],
            result=hints["return"],
            handler=handler,
            read_only=read_only,
            destructive=destructive,
            queued=queued,
        )
        return handler

    return declare


# --- running a tool, for either door -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: BaseModel
    headers: dict[str, str]


def run(
    spec: Tool,
    *,
    key: ApiKey,
    door: str,
    account_id: int | None,
    values: dict[str, Any],
    idempotency_key: str = "",
) -> Answer:
    """Check, run and audit one call; every outcome is an Answer (never an exception)."""
    call = Call(key=key, door=door, idempotency_key=idempotency_key[:200])
    once = _Once(spec, call, account_id, values) if call.idempotency_key and not spec.idempotent else None
    earlier = once.claim() if once is not None else None
    if earlier is not None:
        answer = earlier
    else:
        try:
            answer = _answer(spec, call, account_id, values)
        except Failure as failure:
            answer = Answer(failure.status, failure.problem, failure.headers)
        finally:
            if once is not None:
                once.release()
        if once is not None and answer.status == 200:
            once.remember(answer)
    if not spec.read_only and answer.status not in (401, 403, 404):
        AuditEntry.objects.create(
            key=key,
            key_name=key.name,
            door=door,
            tool=spec.name,
            account=call.account,
            status=answer.status,
            operation=call.operation,
        )
    return answer


def once_slot(key_id: int, account_id: int | None, tool_name: str, idempotency_key: str, values: Any) -> str:
    """Where a call's answer is remembered: per API key, account, tool, Idempotency-Key and params."""
    params = json.dumps(values, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{idempotency_key}\n{params}".encode()).hexdigest()
    return f"api:idem:{key_id}:{account_id or 0}:{tool_name}:{digest}"


class _Once:
    """Exactly once per Idempotency-Key for every write: a retry of a call (the same key and params) that
    was answered 200 gets that answer again without running anything; one still running gets 409
    ``in_progress``. The same key with other params is another call, which the tool judges itself (an
    inbox reply refuses a key it used elsewhere). Sends also derive their random_id from the key, so even
    a retry of a 202 cannot send twice."""

    def __init__(self, spec: Tool, call: Call, account_id: int | None, values: dict[str, Any]) -> None:
        self.spec = spec
        self.slot = once_slot(call.key.pk, account_id, spec.name, call.idempotency_key, values)
        self.claimed = False

    def claim(self) -> Answer | None:
        """The earlier answer to this call, a 409 while it still runs, or None: go ahead."""
        earlier = cache.get(self.slot)
        if earlier is not None:
            return Answer(200, self.spec.result.model_validate(earlier), {})
        self.claimed = cache.add(f"{self.slot}:running", 1, timeout=int(settings.API_COMMAND_TIMEOUT) + 60)
        if not self.claimed:
            reason = "A call with this Idempotency-Key is still running; ask again in a moment"
            return Answer(409, Problem(error="in_progress", reason=reason), {})
        return None

    def remember(self, answer: Answer) -> None:
        cache.set(self.slot, answer.body.model_dump(mode="json"), ONCE_SECONDS)

    def release(self) -> None:
        if self.claimed:
            cache.delete(f"{self.slot}:running")


def _answer(spec: Tool, call: Call, account_id: int | None, values: dict[str, Any]) -> Answer:
    # In the order the REST door (which validates before any view runs) answers too: params, scope,
    # account — so both doors give the same answer to the same call.
    try:
        params = spec.params.model_validate(values)
    except ValidationError as error:
        raise fail(400, "invalid", "The params are not valid", details=_details(error)) from None
    if spec.scope is not None and spec.scope not in call.key.scopes:
        raise fail(403, "forbidden", f"This key lacks the {spec.scope} scope")
    if spec.per_account:
        in_range = account_id is not None and 0 < account_id < 2**63
        account = account_for(call.key, account_id) if account_id is not None and in_range else None
        if account is None:
            raise fail(404, "not_found", "No such account for this key")
        call.account = account
        _check_available(account)
    try:
        return Answer(200, spec.handler(call, params), {})
    except registry.HostTimeout as timeout:
        operation = call.operation
        url = f"/api/v1/operations/{operation}" if operation else None
        if spec.queued and operation:
            return Answer(202, Accepted(operation=operation, operation_url=url or "", state="queued"), {})
        raise fail(
            504, "host_timeout", timeout.reason, operation=operation or None, operation_url=url
        ) from None
    except registry.CommandError as error:
        failure = failure_for(error)
        if call.operation:
            # A wait is not a refusal: the command runs by itself later. The operation says when it has,
            # so a client never sends again to find out (and sends twice).
            url = f"/api/v1/operations/{call.operation}"
            failure.problem = failure.problem.model_copy(
                update={"operation": call.operation, "operation_url": url}
            )
        raise failure from None


# Statuses in which an account runs no commands until an admin acts: answered at once, never queued.
UNAVAILABLE = {
    Account.Status.BANNED,
    Account.Status.REAUTH_REQUIRED,
    Account.Status.DISABLED,
    Account.Status.NEW,
    Account.Status.CODE_SENT,
    Account.Status.PASSWORD_NEEDED,
}


def _check_available(account: Account) -> None:
    if account.status in UNAVAILABLE:
        reason = f"The account is {account.get_status_display().lower()}"
        if account.status_reason:
            reason += f": {account.status_reason}"
        raise fail(409, "unavailable", reason, status=account.status)
    now = timezone.now()
    if account.status == Account.Status.COOLDOWN and account.cooldown_until and account.cooldown_until > now:
        raise failure_for(registry.Wait(math.ceil((account.cooldown_until - now).total_seconds()), "flood"))


def failure_for(error: registry.CommandError) -> Failure:
    """The answer for a command's typed error (also used when an operation is read back)."""
    if isinstance(error, registry.Wait):
        return Failure(
            429,
            Problem(
                error="wait", reason=error.reason, retry_after=error.seconds, wait_reason=error.wait_reason
            ),
            {"Retry-After": str(error.seconds)},
        )
    if isinstance(error, registry.Unavailable):
        return fail(409, "unavailable", error.reason, status=error.status or None)
    if isinstance(error, registry.InputError):
        return fail(400, "rejected", error.reason, telegram_error=error.code or None)
    if isinstance(error, registry.HostTimeout):
        return fail(504, "host_timeout", error.reason)
    return fail(502, "telegram", error.reason, telegram_error=error.code or None)


def _details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "problem": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]
