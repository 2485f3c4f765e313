"""Writes about accounts: creation, the status machine, events, alerts and commands."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import leases, signals
from accounts.alerts import deliver_alert
from accounts.devices import choose_device
from accounts.models import OUTREACH_PAUSED_INDEFINITELY, Account, AccountEvent, ApiApp
from accounts.proxies import parse_proxy
from accounts.sessions import session_erase
from crm import live, vault
from crm.celery import app

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
        account = Account.objects.create(phone=phone, api_app=api_app, **choose_device(seed=phone))
        if proxy:
            account.set_proxy(proxy)
            account.save(update_fields=["proxy_sealed", "proxy_shown"])
        leases.ensure_lease(account_id=account.pk)
        event_record(account=account, kind=AccountEvent.Kind.CREATED, to_status=account.status, actor=by)
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


def service_notification_record(*, account_id: int, telegram_id: int, date: datetime, text: str) -> bool:
    """Keep a message from Telegram's service account (login codes, new-login notices) on the account's
    history, where only admins look, once per message. The caller masks its codes. True if it was new."""
    seen = AccountEvent.objects.filter(
        account_id=account_id, kind=AccountEvent.Kind.SERVICE_NOTIFICATION, detail__telegram_id=telegram_id
    )
    if seen.exists():
        return False
    AccountEvent.objects.create(
        account_id=account_id,
        at=date,
        kind=AccountEvent.Kind.SERVICE_NOTIFICATION,
        reason=text.split("\n", 1)[0][:255],
        detail={"telegram_id": telegram_id, "text": text},
    )
    return True


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
            kind=AccountEvent.Kind.STATUS,
            reason=reason,
            from_status=current,
            to_status=to,
            detail=detail,
            actor=actor,
        )
        if current != to or to == S.COOLDOWN:
            signals.status_changed.send(
                sender=Account,
                account_id=account.pk,
                from_status=current,
                to_status=to,
                reason=account.status_reason,
                cooldown_until=account.cooldown_until if to == S.COOLDOWN else None,
            )
            live.publish_on_commit([(live.fleet_channel(), live.message("fleet", account.pk))])
        if to in ALERTING and current != to:
            transaction.on_commit(lambda: alert_send(account_id=account.pk, status=to, reason=reason))
    return account


def account_read_on_telegram_set(*, account_id: int, on: bool) -> None:
    """Whether opening or answering a conversation marks it read on Telegram too."""
    Account.objects.filter(pk=account_id).update(read_on_telegram=on)


def account_flood_wait(*, account_id: int, seconds: int, until: datetime, reason: str) -> Account:
    """Telegram's long FLOOD_WAIT: the account cools down until ``until``; recorded (and told to the
    apps above through ``flood_waited``) in one transaction."""
    with transaction.atomic():
        account = account_transition(
            account_id=account_id, to=S.COOLDOWN, reason=reason, cooldown_until=until, force=True
        )
        signals.flood_waited.send(sender=Account, account_id=account_id, seconds=seconds, reason=reason)
    return account


def account_unopenable(*, account_id: int, what: str, error: vault.BlobError, host: str) -> Account:
    """A sealed secret the account needs cannot be opened, so retrying cannot help: the account waits for
    an admin (an alert goes out), and the event names the master key id, never key material.

    A key id missing from the keyring is an operator's fix (put the key back, e.g. on a host left behind
    by a rotation): the account is disabled with its session kept, and resuming it needs no new login.
    An altered blob cannot be opened by anyone: the account needs a new login."""
    key = f"master key {error.key_id!r}"
    to = S.REAUTH_REQUIRED
    if isinstance(error, vault.UnknownKeyError):
        to = S.DISABLED
        why = (
            f"it is sealed under {key}, which {vault.SETTING} no longer holds; "
            f"put that key back on every host, then resume the account"
        )
    elif isinstance(error, vault.TamperedError):
        why = f"it fails authentication under {key} (altered or corrupted)"
    else:
        why = "it is not a readable sealed blob"
    reason = f"Cannot open {what}: {why}"
    with transaction.atomic():
        account = account_transition(
            account_id=account_id,
            to=to,
            reason=reason,
            detail={"host": host, "what": what, "key_id": error.key_id, "error": type(error).__name__},
            force=True,
        )
        if to not in ALERTING:
            transaction.on_commit(lambda: alert_send(account_id=account_id, status=to, reason=reason))
    return account


def alert_send(*, account_id: int, status: str, reason: str) -> None:
    """Tell admins an account needs attention: the log always, the webhook when configured."""
    log.warning("account %s needs attention: %s (%s)", account_id, status, reason)
    if settings.ALERT_WEBHOOK_URL:
        deliver_alert.delay(account_id=account_id, status=status, reason=reason)


def hosts_wake() -> None:
    """Ask session hosts to claim unowned accounts now (after commit), not at their next tick."""
    transaction.on_commit(lambda: app.control.broadcast("sessionhost_wake"))


def account_touch(*, account_id: int) -> None:
    Account.objects.filter(pk=account_id).update(last_activity_at=timezone.now())


# --- admin console actions ---------------------------------------------------------------------------


def account_pause(*, account_id: int, by: Any = None) -> None:
    """Stop outreach (campaigns, warm-up) from the account until resumed; its inbox stays live."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        account.outreach_paused_until = OUTREACH_PAUSED_INDEFINITELY
        account.save(update_fields=["outreach_paused_until"])
        event_record(
            account=account, kind=AccountEvent.Kind.PAUSED, reason="Outreach paused by an admin", actor=by
        )


def account_resume(*, account_id: int, by: Any = None) -> Account:
    """Undo pause and disable: outreach may run again, and a disabled account goes back online
    (or back to the login wizard when it holds no session)."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        account.outreach_paused_until = None
        account.save(update_fields=["outreach_paused_until"])
        event_record(account=account, kind=AccountEvent.Kind.RESUMED, reason="Resumed by an admin", actor=by)
        if account.status == S.DISABLED:
            # A stored session goes straight back online (its host validates it on connect); without one,
            # the account goes back to the login wizard.
            logged_in = hasattr(account, "session")
            account = account_transition(
                account_id=account_id, to=S.ACTIVE if logged_in else S.NEW, reason="Resumed", actor=by
            )
            hosts_wake()
    return account


def account_disable(*, account_id: int, reason: str = "Disabled by an admin", by: Any = None) -> Account:
    """Take the account offline: no host keeps it connected until it is resumed."""
    with transaction.atomic():
        account = account_transition(account_id=account_id, to=S.DISABLED, reason=reason, actor=by)
        leases.revoke(account_id=account_id)
        hosts_wake()  # its holder learns of the revoke at once and disconnects
    return account


def account_proxy_set(*, account_id: int, proxy: str, by: Any = None) -> None:
    """Route the account through another proxy (or none); its host reconnects through it at once."""
    parse_proxy(proxy)  # raises ValueError for a URL the client could not use
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.proxy_url() == proxy:
            return
        account.set_proxy(proxy)
        account.save(update_fields=["proxy_sealed", "proxy_shown"])
        # Never log the proxy URL itself: it may carry the proxy's password.
        event_record(
            account=account,
            kind=AccountEvent.Kind.PROXY_CHANGED,
            reason="Proxy changed" if proxy else "Direct",
            actor=by,
        )
        # The client was built with the old proxy: its holder disconnects and releases the lease, and
        # then a host (maybe the same) claims it afresh and rebuilds the client through the new proxy.
        leases.revoke(account_id=account_id)
        hosts_wake()


def account_operators_set(*, account: Account, operators: Any, by: Any = None) -> None:
    """Grant exactly these operators the account's conversations in the inbox."""
    before = set(account.operators.values_list("pk", flat=True))
    after = {user.pk for user in operators}
    if before == after:
        return
    with transaction.atomic():
        account.operators.set(list(operators))
        event_record(
            account=account,
            kind=AccountEvent.Kind.OPERATORS_CHANGED,
            detail={"granted": sorted(after - before), "revoked": sorted(before - after)},
            actor=by,
        )


def account_operator_grant(*, account_ids: list[int], operator: Any, grant: bool, by: Any = None) -> int:
    """Grant (or revoke) one operator on many accounts; returns how many accounts changed."""
    changed = 0
    for account in Account.objects.filter(pk__in=account_ids):
        has = account.operators.filter(pk=operator.pk).exists()
        if has == grant:
            continue
        with transaction.atomic():
            (account.operators.add if grant else account.operators.remove)(operator)
            key = "granted" if grant else "revoked"
            event_record(
                account=account,
                kind=AccountEvent.Kind.OPERATORS_CHANGED,
                detail={key: [operator.pk]},
                actor=by,
            )
        changed += 1
    return changed


def account_logged_out(*, account_id: int, by: Any = None) -> None:
    """After auth.logOut: the key is dead, so forget it and keep the account offline until re-login."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.status != S.DISABLED:
            account_transition(account_id=account_id, to=S.DISABLED, reason="Session terminated", actor=by)
        leases.revoke(account_id=account_id)
        session_erase(account_id=account_id)


class StillConnected(Exception):
    """The account's session host has not let go yet: deleting now would free its auth key for another
    import while the old connection still uses it (AUTH_KEY_DUPLICATED)."""


def account_delete(*, account_id: int, by: Any = None) -> None:
    """Delete the account and erase its sealed session, once no host holds it.

    While a host still holds the lease, the account is taken offline instead (disabled, lease revoked,
    hosts woken) and StillConnected is raised: a second try a few seconds later deletes it.
    """
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            return
        if leases.is_held(account_id=account_id):
            if account.status != S.DISABLED:
                account_transition(account_id=account_id, to=S.DISABLED, reason="Being deleted", actor=by)
            leases.revoke(account_id=account_id)
            hosts_wake()
            held = True
        else:
            held = False
    if held:
        raise StillConnected(
            "The account is still connected; it is being taken offline. Delete it again in a few seconds."
        )
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None or leases.is_held(account_id=account_id):
            return
        session_erase(account_id=account_id)
        log.info("account %s (%s) deleted by %s", account_id, account.phone, getattr(by, "pk", None))
        account.delete()
