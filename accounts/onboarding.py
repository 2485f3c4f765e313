"""Logging an account in: request a code, sign in with it, answer the 2FA password, or re-login.

The web wizard and ``manage.py account add`` both drive these. Codes and passwords travel to the
session host sealed (they pass through the broker), and are never stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import commands, identity, sessions
from accounts.models import Account, AccountEvent
from accounts.services import account_transition, event_record
from accounts.telegram.records import CodeSent, Me
from crm import vault
from crm.redact import Secret

S = Account.Status


class NeedsConfirmation(Exception):
    """Several codes were already requested today; asking again risks locking the number out."""


def seal_secret(*, account_id: int, kind: str, value: Secret[str]) -> str:
    """Seal a login code or 2FA password for its trip through the broker (kind: "code" or "password")."""
    return vault.seal(value.reveal().encode(), context=f"login-{kind}:{account_id}").hex()


def open_secret(*, account_id: int, kind: str, sealed: str) -> Secret[str]:
    """The code or password again, wrapped: it is revealed only in the call that hands it to Telegram."""
    return Secret(vault.unseal(bytes.fromhex(sealed), context=f"login-{kind}:{account_id}").decode())


def attempts_today(account: Account) -> int:
    return account.login_attempts_today if account.login_attempts_date == timezone.localdate() else 0


def login_request_code(*, account: Account, confirm: bool = False, by: Any = None) -> str:
    """Ask Telegram to send a login code. Returns the command's operation id."""
    if account.status not in (S.NEW, S.CODE_SENT, S.PASSWORD_NEEDED):
        raise ValueError(f"The account is {account.get_status_display().lower()}, not logging in")
    attempts = attempts_today(account)
    if attempts >= settings.LOGIN_ATTEMPTS_WARNING and not confirm:
        raise NeedsConfirmation(
            f"{attempts} codes were already requested for this number today. More attempts can lock the "
            "number out of Telegram for a day."
        )
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(
            login_attempts_today=attempts + 1, login_attempts_date=timezone.localdate()
        )
        event_record(
            account=account,
            kind=AccountEvent.Kind.LOGIN_CODE_REQUESTED,
            actor=by,
            detail={"attempt": attempts + 1},
        )
        return commands.send_code.queue(account)


def login_submit_code(*, account: Account, code: str, by: Any = None) -> str:
    digits = Secret((code or "").strip().replace(" ", "").replace("-", ""))
    if not digits.reveal().isdigit():
        raise ValueError("The login code is the digits Telegram sent you")
    with transaction.atomic():
        event_record(account=account, kind=AccountEvent.Kind.LOGIN_CODE_SUBMITTED, actor=by)
        return commands.sign_in.queue(
            account, sealed_code=seal_secret(account_id=account.pk, kind="code", value=digits)
        )


def login_submit_password(*, account: Account, password: str, by: Any = None) -> str:
    if not password:
        raise ValueError("Enter the account's two-step verification password")
    with transaction.atomic():
        event_record(account=account, kind=AccountEvent.Kind.LOGIN_PASSWORD_SUBMITTED, actor=by)
        return commands.check_password.queue(
            account,
            sealed_password=seal_secret(account_id=account.pk, kind="password", value=Secret(password)),
        )


def login_restart(*, account: Account, by: Any = None) -> Account:
    """Re-login (after reauth_required, or to abandon a half-done login): same row, history kept."""
    sessions.session_erase(account_id=account.pk)
    Account.objects.filter(pk=account.pk).update(login_code_hash="")
    return account_transition(
        account_id=account.pk, to=S.NEW, reason="Re-login started", actor=by, force=True
    )


# --- called on the session host as the steps complete -----------------------------------------------


def code_sent(*, account_id: int, sent: CodeSent) -> None:
    Account.objects.filter(pk=account_id).update(login_code_hash=sent.phone_code_hash)
    account_transition(
        account_id=account_id, to=S.CODE_SENT, reason=f"Code sent ({sent.delivery})", force=True
    )


def password_needed(*, account_id: int, hint: str) -> None:
    account_transition(
        account_id=account_id,
        to=S.PASSWORD_NEEDED,
        reason=f"2FA password needed{f' (hint: {hint})' if hint else ''}",
        force=True,
    )


def signed_in(*, account_id: int, me: Me) -> str:
    """Telegram accepted the login: the account is active. Returns "", or why the login is refused.

    A login that turns out to be the Telegram user of another account (say its owner changed number)
    leaves the account disabled and its fresh session erased, never hosted: the host logs that key
    out. The other account is not touched.
    """
    refused = identity.profile_save(account_id=account_id, me=me)
    Account.objects.filter(pk=account_id).update(login_code_hash="", login_attempts_today=0)
    if refused:
        sessions.session_erase(account_id=account_id)
        return refused
    account_transition(account_id=account_id, to=S.ACTIVE, reason="Signed in", force=True)
    return ""


def login_failed(*, account_id: int, reason: str) -> None:
    account = Account.objects.get(pk=account_id)
    event_record(account=account, kind=AccountEvent.Kind.LOGIN_FAILED, reason=reason)
    Account.objects.filter(pk=account_id).update(status_reason=reason[:255])
