"""Recording a command's outcome the way a session host does, for tests that run without one."""

from __future__ import annotations

from typing import Any

import accounts.commands  # noqa: F401 - declares the account's commands
from accounts import registry
from accounts.host.commands import SOMETHING_WENT_WRONG
from accounts.models import Operation


def finish(operation_id: str, outcome: dict[str, Any]) -> None:
    """``{"ok": True, …result}`` or ``{"ok": False, "error": …, "status": …}``, as the task returns it."""
    operation = Operation.objects.get(pk=operation_id)
    spec = registry.declared()[operation.command]
    values = {k: v for k, v in outcome.items() if k != "ok"}
    if outcome["ok"]:
        result = spec.result.model_validate(values)
        registry.record(spec, operation_id=operation_id, account_id=operation.account_id, result=result)
    else:
        error = registry.CommandError(values["error"], status=values.get("status", ""))
        registry.record(spec, operation_id=operation_id, account_id=operation.account_id, error=error)


def crash(operation_id: str) -> None:
    """What the host records when a command's body raised something unexpected."""
    finish(operation_id, {"ok": False, "error": SOMETHING_WENT_WRONG})
