"""Reading back an operation: what a 202 or a 504 pointed at."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from accounts import registry
from accounts.models import Operation
from api.tools import Call, Params, fail, failure_for, tool


class OperationParams(Params):
    operation: str = Field(min_length=1, max_length=64)


class OperationState(BaseModel):
    operation: str
    command: str
    state: str  # queued, waiting, done, failed
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # the Problem the call would have answered with


@tool("operation_get", "GET", "/operations/{operation}", scope=None, read_only=True)
def operation_get(call: Call, params: OperationParams) -> OperationState:
    """Where an operation stands: queued, waiting (with retry_after), done with its result, or failed."""
    found = registry.outcome(params.operation)
    if found is None or not call.key.accounts.filter(operations__pk=found.id).exists():
        raise fail(404, "not_found", "No such operation for this key")
    state = OperationState(operation=found.id, command=found.command, state=found.state)
    if found.state == Operation.State.DONE:
        return state.model_copy(update={"result": found.result or {}})
    if found.state in (Operation.State.FAILED, Operation.State.WAITING):
        try:
            registry.raise_for(found)
        except registry.CommandError as error:
            problem = failure_for(error).problem
            return state.model_copy(update={"error": problem.model_dump(exclude_none=True)})
    return state
