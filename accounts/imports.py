"""Importing an existing Telethon session (StringSession text or a .session file) as an account."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path
from typing import Any

from django.db import transaction
from telethon.sessions import StringSession

from accounts import leases, services
from accounts.devices import choose_device
from accounts.models import Account, ApiApp, TelegramSession, session_context
from accounts.sessions import SessionState
from accounts.telegram.profile import IMPORT_VALIDATING
from crm import vault


class ImportError_(ValueError):
    pass


def state_from_string(text: str) -> SessionState:
    try:
        session = StringSession(text.strip())
    except Exception:
        raise ImportError_("That is not a Telethon session string") from None
    if session.auth_key is None:
        raise ImportError_("The session string holds no auth key")
    return SessionState(
        dc_id=session.dc_id,
        server_address=session.server_address,
        port=session.port,
        auth_key=session.auth_key.key,
    )


def state_from_file(path: str | Path) -> SessionState:
    """Read a Telethon SQLite .session file (read-only: it is never modified)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT dc_id, server_address, port, auth_key FROM sessions").fetchone()
            update = conn.execute("SELECT pts, qts, date, seq FROM update_state WHERE id = 0").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        raise ImportError_("That is not a Telethon .session file") from None
    if not row or not row[3]:
        raise ImportError_("The .session file holds no auth key")
    state = SessionState(dc_id=row[0], server_address=row[1], port=row[2], auth_key=bytes(row[3]))
    if update:
        try:
            state.pts, state.qts, state.date, state.seq = (int(v or 0) for v in update)
        except (TypeError, ValueError):
            raise ImportError_("The .session file's update state is not a Telethon one") from None
    return state


def account_import(
    *, state: SessionState, api_app: ApiApp, phone: str = "", proxy: str = "", by: Any = None
) -> Account:
    """Create an active account around an existing session; the host validates it by connecting.

    A session whose key Telegram rejects becomes reauth_required; one that turns out to be the same
    Telegram user as another account is disabled as a duplicate (see accounts.telegram.profile).
    """
    if phone:
        phone = services.normalize_phone(phone)
        if Account.objects.filter(phone=phone).exists():
            raise ImportError_("An account with this phone number already exists")
    else:
        phone = f"import-{secrets.token_hex(6)}"  # replaced by the real number once connected
    with transaction.atomic():
        account = Account.objects.create(
            phone=phone,
            api_app=api_app,
            status=Account.Status.ACTIVE,
            status_reason=IMPORT_VALIDATING,
            **choose_device(seed=phone),
        )
        if proxy:
            account.set_proxy(proxy)
            account.save(update_fields=["proxy_sealed", "proxy_shown"])
        leases.ensure_lease(account_id=account.pk)
        TelegramSession.objects.create(
            account=account,
            version=1,
            blob=vault.seal(state.to_bytes(), context=session_context(account_id=account.pk, version=1)),
        )
        services.event_record(account=account, kind="imported", to_status=account.status, actor=by)
        services.hosts_wake()
    return account
