"""Account commands as Celery tasks. Each is routed to the account's queue (acct.<id>) and runs on the
session host holding the account; the body only hands a step to the host loop (accounts.steps)."""

from __future__ import annotations

import functools
from typing import Any

from celery import shared_task

from accounts import onboarding, steps
from accounts.host.commands import Failed, run


def _command(
    task: Any, account_id: int, step: Any, *, budget: str | None = None, login: bool = False, **kwargs: Any
) -> dict[str, Any]:
    try:
        return run(
            task, account_id=account_id, call=functools.partial(step, **kwargs), budget=budget, login=login
        )
    except Failed as failure:
        if login:
            onboarding.login_failed(account_id=account_id, reason=failure.reason)
        return {"ok": False, "error": failure.reason, "status": failure.status}


@shared_task(bind=True, name="accounts.login_send_code")
def login_send_code(self: Any, *, account_id: int) -> dict[str, Any]:
    return _command(self, account_id, steps.send_code, login=True)


@shared_task(bind=True, name="accounts.login_sign_in")
def login_sign_in(self: Any, *, account_id: int, sealed_code: str) -> dict[str, Any]:
    return _command(self, account_id, steps.sign_in, login=True, sealed_code=sealed_code)


@shared_task(bind=True, name="accounts.login_check_password")
def login_check_password(self: Any, *, account_id: int, sealed_password: str) -> dict[str, Any]:
    return _command(self, account_id, steps.check_password, login=True, sealed_password=sealed_password)


@shared_task(bind=True, name="accounts.refresh_profile")
def refresh_profile(self: Any, *, account_id: int) -> dict[str, Any]:
    return _command(self, account_id, steps.refresh_profile)


@shared_task(bind=True, name="accounts.send_message", max_retries=None)
def send_message(
    self: Any, *, account_id: int, peer: str | int, text: str, random_id: int, reply_to: int | None = None
) -> dict[str, Any]:
    return _command(
        self,
        account_id,
        steps.send_message,
        budget="message",
        peer=peer,
        text=text,
        random_id=random_id,
        reply_to=reply_to,
    )


@shared_task(bind=True, name="accounts.sync_dialogs")
def sync_dialogs(self: Any, *, account_id: int, limit: int = 100) -> dict[str, Any]:
    return _command(self, account_id, steps.sync_dialogs, limit=limit)


@shared_task(bind=True, name="accounts.join_chat", max_retries=None)
def join_chat(self: Any, *, account_id: int, target: str) -> dict[str, Any]:
    return _command(self, account_id, steps.join_chat, budget="join", target=target)


@shared_task(bind=True, name="accounts.leave_chat")
def leave_chat(self: Any, *, account_id: int, target: str | int) -> dict[str, Any]:
    return _command(self, account_id, steps.leave_chat, target=target)


@shared_task(bind=True, name="accounts.log_out")
def log_out(self: Any, *, account_id: int) -> dict[str, Any]:
    return _command(self, account_id, steps.log_out)
