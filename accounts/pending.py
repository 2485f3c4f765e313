"""The console's in-flight account commands (a login step, a log-out), kept in the admin's session.

A command runs on whichever session host holds the account; its result comes back through Celery's
result backend. The page polls for it with htmx, so the task id stays server-side: a poll can only
ever read the result of a command this admin started for this account.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from celery.result import AsyncResult
from django.http import HttpRequest

from crm.celery import app

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
    """(done, result). A task that raised comes back as a failure with the error's name, no detail:
    its message could quote what the step was handling."""
    result = AsyncResult(task["id"], app=app)
    if not result.ready():
        return False, {}
    value = result.result
    if isinstance(value, dict):
        return True, value
    return True, {"ok": False, "error": f"The command failed unexpectedly ({type(value).__name__})"}
