"""Importing an existing Telethon session (StringSession text or a .session file) as an account.

Both formats are read here without Telethon (the web process never imports it), and every value is
checked before anything is stored: an import is untrusted input. Errors say what is wrong in plain
words and never repeat the session itself.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat

from accounts import identity, leases, services
from accounts.devices import choose_device
from accounts.models import Account, AccountEvent, ApiApp, TelegramSession, session_context
from accounts.sessions import SessionState, auth_key_id
from crm import vault

# A Telethon .session holds the key and a cache of peers: a few MB at most, even for busy accounts.
SESSION_FILE_MAX_BYTES = 10 * 1024 * 1024
# A StringSession is 353 characters (369 with an IPv6 address); allow for surrounding whitespace.
SESSION_STRING_MAX_CHARS = 1000
AUTH_KEY_BYTES = 256  # MTProto auth keys are 2048 bits
DC_IDS = range(1, 6)  # Telegram's data centres are 1-5 (its test DCs reuse those ids)


class ImportError_(ValueError):
    pass


@dataclass(frozen=True)
class Exported:
    """A session as Telethon exported it; a .session file also says which Telegram user it is."""

    state: SessionState
    telegram_id: int | None = None


def session_from_string(text: str) -> Exported:
    """Telethon's StringSession: "1" then urlsafe base64 of dc id, IPv4 or IPv6 address, port, key."""
    text = (text or "").strip()
    if len(text) > SESSION_STRING_MAX_CHARS or not text.startswith("1"):
        raise ImportError_("That is not a Telethon session string")
    try:
        raw = base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
    except (binascii.Error, ValueError):
        raise ImportError_("That is not a Telethon session string") from None
    # Telethon's layout: ">B{4 or 16}sH256s"; any other length is not a session string.
    ip_length = len(raw) - 1 - 2 - AUTH_KEY_BYTES
    if ip_length not in (4, 16):
        raise ImportError_("That is not a Telethon session string")
    dc_id, ip, port, key = struct.unpack(f">B{ip_length}sH{AUTH_KEY_BYTES}s", raw)
    address = ipaddress.ip_address(ip).compressed
    return Exported(_checked(dc_id=dc_id, server_address=address, port=port, auth_key=key))


def session_from_file(path: str | Path) -> Exported:
    """Read a Telethon SQLite .session file (read-only: it is never modified)."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        raise ImportError_("The .session file cannot be read") from None
    if size > SESSION_FILE_MAX_BYTES:
        raise ImportError_(too_big_message())
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT dc_id, server_address, port, auth_key FROM sessions").fetchall()
            update = _first(conn, "SELECT pts, qts, date, seq FROM update_state WHERE id = 0")
            # Telethon keeps the signed-in user's id in the entities row with id 0.
            me = _first(conn, "SELECT hash FROM entities WHERE id = 0")
        finally:
            conn.close()
    except sqlite3.Error:
        raise ImportError_("That is not a Telethon .session file") from None
    if len(rows) != 1:
        raise ImportError_("The .session file must hold exactly one session")
    dc_id, server_address, port, key = rows[0]
    state = _checked(dc_id=dc_id, server_address=server_address, port=port, auth_key=key)
    if update:
        if not all(v is None or (isinstance(v, int) and 0 <= v < 2**31) for v in update):
            raise ImportError_("The .session file's update state is not valid")
        state.pts, state.qts, state.date, state.seq = (v or 0 for v in update)
    telegram_id = me[0] if me and isinstance(me[0], int) and me[0] > 0 else None
    return Exported(state, telegram_id=telegram_id)


def too_big_message() -> str:
    return f"The .session file is larger than {filesizeformat(SESSION_FILE_MAX_BYTES)}"


def _first(conn: sqlite3.Connection, query: str) -> Any:
    try:
        return conn.execute(query).fetchone()
    except sqlite3.OperationalError:  # an older Telethon wrote no such table
        return None


def _checked(*, dc_id: Any, server_address: Any, port: Any, auth_key: Any) -> SessionState:
    """Refuse anything a Telethon session cannot hold: SQLite stores whatever it is given, so a key may
    come back as an integer, text, NULL or too short, and must never be taken as a zero key."""
    if not isinstance(auth_key, bytes) or len(auth_key) != AUTH_KEY_BYTES or not any(auth_key):
        raise ImportError_("The session holds no valid auth key")
    if not isinstance(dc_id, int) or isinstance(dc_id, bool) or dc_id not in DC_IDS:
        raise ImportError_("The session's data centre id is not valid")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ImportError_("The session's port is not valid")
    try:
        address = ipaddress.ip_address(server_address if isinstance(server_address, str) else b"")
    except ValueError:
        raise ImportError_("The session's server address is not an IP address") from None
    return SessionState(dc_id=dc_id, server_address=address.compressed, port=port, auth_key=auth_key)


def account_import(
    *,
    state: SessionState,
    api_app: ApiApp,
    telegram_id: int | None = None,
    phone: str = "",
    proxy: str = "",
    by: Any = None,
) -> Account:
    """Create an active account around an existing session; the host validates it by connecting.

    A session whose auth key (or, when known, Telegram user) is in the fleet already is refused here,
    before anything connects (accounts.identity). A key Telegram rejects makes the account
    reauth_required; a different key of a Telegram user already hosted is disabled once the host
    learns who it is, before it takes a command.
    """
    if not state.auth_key:
        raise ImportError_("The session holds no valid auth key")
    refused = identity.import_refusal(auth_key=state.auth_key, telegram_id=telegram_id)
    if refused:
        raise ImportError_(refused)
    if phone:
        phone = services.normalize_phone(phone)
        if Account.objects.filter(phone=phone).exists():
            raise ImportError_("An account with this phone number already exists")
    else:
        phone = f"import-{secrets.token_hex(6)}"  # replaced by the real number once connected
    try:
        return _create(state=state, api_app=api_app, phone=phone, proxy=proxy, by=by)
    except IntegrityError:
        # A concurrent import of the same key (or number) won the race; the database refused this one.
        refused = identity.import_refusal(auth_key=state.auth_key)
        raise ImportError_(refused or "An account with this phone number already exists") from None


def _create(*, state: SessionState, api_app: ApiApp, phone: str, proxy: str, by: Any) -> Account:
    with transaction.atomic():
        account = Account.objects.create(
            phone=phone,
            api_app=api_app,
            status=Account.Status.ACTIVE,
            status_reason=identity.IMPORT_VALIDATING,
            **choose_device(seed=phone),
        )
        if proxy:
            account.set_proxy(proxy)
            account.save(update_fields=["proxy_sealed", "proxy_shown"])
        leases.ensure_lease(account_id=account.pk)
        TelegramSession.objects.create(
            account=account,
            version=1,
            auth_key_id=auth_key_id(state.auth_key or b""),
            blob=vault.seal(state.to_bytes(), context=session_context(account_id=account.pk, version=1)),
        )
        services.event_record(
            account=account, kind=AccountEvent.Kind.IMPORTED, to_status=account.status, actor=by
        )
        services.hosts_wake()
    return account
