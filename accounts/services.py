"""Writes about accounts: creation, the status machine, events, alerts and commands."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import leases
from accounts.devices import choose_device
from accounts.models import Account, AccountEvent, ApiApp

log = logging.getLogger(__name__)
S = Account.Status

# Which statuses may follow which (ARCHITECTURE: new → code_sent → password_needed → active ⇄ cooldown;
# active ⇄ spam_limited; any → reauth_required; any → banned; disabled by an admin).
TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.CODE_SENT, S.ACTIVE},
    S.CODE_SENT: {S.CODE_SENT, S.PASSWORD_NEEDED, S.ACTIVE, S.NEW},
    S.PASSWORD_NEEDED: {S.ACTIVE, S.NEW, S.CODE_SENT},
    S.ACTIVE: {S.COOLDOWN, S.SPAM_LIMITED},
    S.COOLDOWN: {S.ACTIVE, S.COOLDOWN, S.SPAM_LIMITED},
    S.SPAM_LIMITED: {S.ACTIVE, S.COOLDOWN, S.SPAM_LIMITED},
    S.REAUTH_REQUIRED: {S.NEW},
    S.BANNED: set(),
    S.DISABLED: {S.ACTIVE, S.NEW},
}
ANY_TO = {S.REAUTH_REQUIRED, S.BANNED, S.DISABLED}
ALERTING = {S.REAUTH_REQUIRED, S.BANNED, S.SPAM_LIMITED}

PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")


class InvalidTransition(Exception):
    pass


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"[\s().-]", "", phone or "")
    if not PHONE.match(digits):
        raise ValueError("Enter the phone number in international format, e.g. +44 7700 900123")
    return digits.lstrip("+")


def api_app_create(*, name: str, api_id: int, api_hash: str) -> ApiApp:
    """Register a Telegram API application; the hash is sealed at once and never shown again."""
    if not re.fullmatch(r"[0-9a-f]{32}", api_hash or ""):
        raise ValueError("The api_hash is the 32-character hex string from my.telegram.org")
    with transaction.atomic():
        app = ApiApp.objects.create(name=name, api_id=api_id, api_hash_sealed=b"")
        app.seal_api_hash(api_hash)
        app.save(update_fields=["api_hash_sealed"])
    return app


def account_create(*, phone: str, api_app: ApiApp, proxy: str = "", by: Any = None) -> Account:
    """A new account row (status new) with its device fingerprint and an empty lease."""
    phone = normalize_phone(phone)
    if Account.objects.filter(phone=phone).exists():
        raise ValueError("An account with this phone number already exists")
    with transaction.atomic():
        account = Account.objects.create(
            phone=phone, api_app=api_app, proxy=proxy, **choose_device(seed=phone)
        )
        leases.ensure_lease(account_id=account.pk)
        event_record(account=account, kind="created", to_status=account.status, actor=by)
        hosts_wake()
    return account


def event_record(
    *,
    account: Account,
    kind: str,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
    detail: dict[str, Any] | None = None,
    actor: Any = None,
) -> AccountEvent:
    return AccountEvent.objects.create(
        account=account,
        kind=kind,
        reason=reason[:255],
        from_status=from_status,
        to_status=to_status,
        detail=detail or {},
        actor=actor if getattr(actor, "pk", None) else None,
    )


def account_transition(
    *,
    account_id: int,
    to: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    actor: Any = None,
    cooldown_until: Any = None,
    force: bool = False,
) -> Account:
    """Move an account to another status and record why; refuses transitions the machine forbids."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        current = account.status
        if not force and to not in ANY_TO and to not in TRANSITIONS.get(current, set()):
            raise InvalidTransition(f"{current} → {to} is not allowed")
        account.status = to
        account.status_reason = reason[:255]
        account.status_changed_at = timezone.now()
        if to == S.COOLDOWN:
            account.cooldown_until = cooldown_until
        elif current == S.COOLDOWN:
            account.cooldown_until = None
        if to == S.SPAM_LIMITED:
            account.outreach_paused_until = timezone.now() + timedelta(seconds=settings.SPAM_LIMIT_PAUSE)
        account.save()
        event_record(
            account=account,
            kind="status",
            reason=reason,
            from_status=current,
            to_status=to,
            detail=detail,
            actor=actor,
        )
        if to in ALERTING and current != to:
            transaction.on_commit(lambda: alert_send(account_id=account.pk, status=to, reason=reason))
    return account


def alert_send(*, account_id: int, status: str, reason: str) -> None:
    """Tell admins an account needs attention: the log always, the webhook when configured."""
    log.warning("account %s needs attention: %s (%s)", account_id, status, reason)
    if settings.ALERT_WEBHOOK_URL:
        from accounts.tasks import deliver_alert

        deliver_alert.delay(account_id=account_id, status=status, reason=reason)


def account_command(*, account: Account, task: Any, **kwargs: Any) -> str:
    """Queue a command for the account's current session host, once the transaction commits.

    Returns the task id, so callers can wait for or poll its result.
    """
    task_id = str(uuid.uuid4())
    transaction.on_commit(
        lambda: task.apply_async(
            kwargs={"account_id": account.pk, **kwargs}, queue=account.queue, task_id=task_id
        )
    )
    return task_id


def hosts_wake() -> None:
    """Ask session hosts to claim unowned accounts now (after commit), not at their next tick."""
    from crm.celery import app

    transaction.on_commit(lambda: app.control.broadcast("sessionhost_wake"))


def account_touch(*, account_id: int) -> None:
    Account.objects.filter(pk=account_id).update(last_activity_at=timezone.now())
