"""What each account command does on the session host, given the hosted account and its client."""

from __future__ import annotations

import logging
from typing import Any

from accounts import identity, onboarding
from accounts.host import lifecycle
from accounts.host.commands import Failed
from accounts.host.current import current_host
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.models import Account
from accounts.services import account_touch, event_record
from accounts.telegram import auth, chats, dialogs, messages, profile

S = Account.Status
log = logging.getLogger(__name__)


async def _account(hosted: Hosted) -> Account:
    return await db(Account.objects.get)(pk=hosted.account_id)


async def send_code(hosted: Hosted) -> dict[str, Any]:
    account = await _account(hosted)
    if account.status not in (S.NEW, S.CODE_SENT, S.PASSWORD_NEEDED):
        raise Failed(f"The account is {account.get_status_display().lower()}; start a re-login first")
    sent = await auth.send_code(hosted.client, phone=account.phone)
    await _save_session(hosted)  # the auth key the code is bound to must survive a host restart
    await db(onboarding.code_sent)(account_id=hosted.account_id, sent=sent)
    hosted.status = S.CODE_SENT
    return {"ok": True, "status": S.CODE_SENT, "delivery": sent.delivery}


async def sign_in(hosted: Hosted, *, sealed_code: str) -> dict[str, Any]:
    account = await _account(hosted)
    if account.status != S.CODE_SENT or not account.login_code_hash:
        raise Failed("Request a login code first")
    code = onboarding.open_secret(account_id=hosted.account_id, kind="code", sealed=sealed_code)
    result = await auth.sign_in(
        hosted.client, phone=account.phone, code=code.reveal(), phone_code_hash=account.login_code_hash
    )
    if isinstance(result, auth.PasswordNeeded):
        await db(onboarding.password_needed)(account_id=hosted.account_id, hint=result.hint)
        hosted.status = S.PASSWORD_NEEDED
        return {"ok": True, "status": S.PASSWORD_NEEDED, "hint": result.hint}
    return await _signed_in(hosted, result.me)


async def check_password(hosted: Hosted, *, sealed_password: str) -> dict[str, Any]:
    account = await _account(hosted)
    if account.status != S.PASSWORD_NEEDED:
        raise Failed("The account is not waiting for a 2FA password")
    password = onboarding.open_secret(account_id=hosted.account_id, kind="password", sealed=sealed_password)
    result = await auth.check_password(hosted.client, password=password.reveal())
    return await _signed_in(hosted, result.me)


async def _signed_in(hosted: Hosted, me: profile.Me) -> dict[str, Any]:
    logged_out = False
    if await db(identity.user_holder)(telegram_id=me.telegram_id, exclude=hosted.account_id):
        # About to be refused: log the key out first, while the lease is surely ours. The refusal disables
        # the account and revokes its lease, and the host then lets go of this client at once.
        logged_out = await _log_out_quietly(hosted)
    refused = await db(onboarding.signed_in)(account_id=hosted.account_id, me=me)
    if refused:
        await _discard_login(hosted, logged_out=logged_out)
        raise Failed(refused, status=S.DISABLED)
    hosted.authorized = True
    hosted.status = S.ACTIVE
    await _save_session(hosted)
    return {"ok": True, "status": S.ACTIVE, "telegram_id": me.telegram_id, "username": me.username}


async def _save_session(hosted: Hosted) -> None:
    host = current_host()
    if host is not None:
        await lifecycle.checkpoint(host, hosted)


async def _log_out_quietly(hosted: Hosted) -> bool:
    try:
        await auth.log_out(hosted.client)
        return True
    except Exception:
        log.warning("account %s: logging the refused login out failed", hosted.account_id, exc_info=True)
        return False


async def _discard_login(hosted: Hosted, *, logged_out: bool) -> None:
    """A refused login's key is ours alone and of no use: log it out, so it does not linger among the
    user's sessions, and stop hosting it. The session is erased already; nothing is written again."""
    hosted.lost = True
    if not logged_out:
        await _log_out_quietly(hosted)
    host = current_host()
    if host is not None:
        await host.drop(hosted, save=False, release=False)


def _require_login(hosted: Hosted) -> None:
    if not hosted.authorized:
        raise Failed("The account is not logged in")


async def refresh_profile(hosted: Hosted) -> dict[str, Any]:
    _require_login(hosted)
    me = await profile.get_me(hosted.client)
    host = current_host()
    assert host is not None  # commands run only on a session host
    refused = await lifecycle.identify(host, hosted, me)
    if refused:
        raise Failed(refused, status=S.DISABLED)
    return {"ok": True, "telegram_id": me.telegram_id, "username": me.username}


async def send_message(
    hosted: Hosted, *, peer: str | int, text: str, random_id: int, reply_to: int | None = None
) -> dict[str, Any]:
    _require_login(hosted)
    sent = await messages.send_message(
        hosted.client, peer=peer, text=text, random_id=random_id, reply_to=reply_to
    )
    await db(account_touch)(account_id=hosted.account_id)
    return {"ok": True, "message_id": sent.message_id}


async def sync_dialogs(hosted: Hosted, *, limit: int = 100) -> dict[str, Any]:
    _require_login(hosted)
    found = await dialogs.get_dialogs(hosted.client, account_id=hosted.account_id, limit=limit)
    return {"ok": True, "dialogs": [d.summary() for d in found]}


async def join_chat(hosted: Hosted, *, target: str) -> dict[str, Any]:
    _require_login(hosted)
    joined = await chats.join(hosted.client, target=target)
    account = await _account(hosted)
    await db(event_record)(
        account=account, kind="joined", reason=joined.title, detail={"peer_id": joined.peer_id}
    )
    return {"ok": True, "peer_id": joined.peer_id, "title": joined.title}


async def leave_chat(hosted: Hosted, *, target: str | int) -> dict[str, Any]:
    _require_login(hosted)
    await chats.leave(hosted.client, target=target)
    account = await _account(hosted)
    await db(event_record)(account=account, kind="left", reason=str(target))
    return {"ok": True}


async def log_out(hosted: Hosted) -> dict[str, Any]:
    """auth.logOut, then let the account go: the key is dead and the client may not reconnect."""
    from accounts.services import account_logged_out

    _require_login(hosted)
    await auth.log_out(hosted.client)
    hosted.lost = True
    # Disabled (and its lease revoked) first, so releasing the lease below lets no host claim it.
    await db(account_logged_out)(account_id=hosted.account_id)
    host = current_host()
    if host is not None:
        await host.drop(hosted, save=False, release=True)
    return {"ok": True}
