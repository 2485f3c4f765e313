"""The console's in-flight account commands (a login step, a log-out), kept in the admin's session.

A command runs on whichever session host holds the account; its outcome is recorded as an operation
(accounts.registry). The page polls for it with htmx, so the operation id stays server-side: a poll can
only ever read the outcome of a command this admin started for this account.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from django.http import HttpRequest

from accounts import registry
from accounts.models import Operation

KEY = "console_tasks"


class Pending(TypedDict):
    id: str
    kind: str  # send_code, sign_in, check_password, log_out
    at: float
    waited: int  # whole seconds since it was queued


def pending_set(request: HttpRequest, *, account_id: int, task_id: str, kind: str) -> None:
    tasks = request.session.get(KEY, {})
    tasks[str(account_id)] = {"id": task_id, "kind": kind, "at": time.time()}
    request.session[KEY] = tasks


def pending_task(request: HttpRequest, *, account_id: int) -> Pending | None:
    task = request.session.get(KEY, {}).get(str(account_id))
    if task is None:
        return None
    return Pending(id=task["id"], kind=task["kind"], at=task["at"], waited=int(time.time() - task["at"]))


def pending_pop(request: HttpRequest, *, account_id: int) -> None:
    tasks = request.session.get(KEY, {})
    if tasks.pop(str(account_id), None) is not None:
        request.session[KEY] = tasks


def pending_result(task: Pending) -> tuple[bool, dict[str, Any]]:
    """(done, result): ``{"ok": True, …the command's result}`` or ``{"ok": False, "error", "status"}``.
    A command that is queued, or waits to run again, is not done."""
    found = registry.outcome(task["id"])
    if found is None or found.state not in (Operation.State.DONE, Operation.State.FAILED):
        return False, {}
    if found.state == Operation.State.DONE:
        return True, {"ok": True, **(found.result or {})}
    return True, {"ok": False, "error": found.reason, "status": found.status}
