"""The sealed MTProto session of each account: read it, write it under the lease's fence.

The blob holds what a Telethon session needs to resume on any host without a login: DC, address,
auth key and the update state (pts/qts/date/seq and per-channel pts) for catching up. Peers live in
the bounded Entity table instead, so the blob stays small and is rewritten cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.leases import Grant
from accounts.models import Entity, TelegramSession, session_context
from crm import vault


@dataclass
class SessionState:
    dc_id: int = 0
    server_address: str | None = None
    port: int | None = None
    # Out of the repr: a SessionState in a log line, an exception or a debugger must not show the key.
    auth_key: bytes | None = field(default=None, repr=False)
    takeout_id: int | None = None
    # Telethon's "general" update state and per-channel pts; see ARCHITECTURE "Nothing received is lost".
    pts: int = 0
    qts: int = 0
    date: int = 0
    seq: int = 0
    channels: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data["auth_key"] = base64.b64encode(self.auth_key).decode() if self.auth_key else None
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SessionState:
        data: dict[str, Any] = json.loads(raw)
        if data.get("auth_key"):
            data["auth_key"] = base64.b64decode(data["auth_key"])
        return cls(**data)


def auth_key_id(key: bytes) -> int:
    """Telegram's own auth_key_id of a key: the low 64 bits of SHA1(key), as a signed 64-bit integer.

    It is what the database compares to refuse a key already in the fleet. Telegram sends it in clear
    in the header of every encrypted packet, so storing it reveals nothing a network observer cannot
    see, and SHA1's preimage resistance keeps the 2048-bit key out of reach. Unlike an HMAC under our
    own keys, it never changes when the master keyring or SECRET_KEY is rotated.
    """
    digest = hashlib.sha1(key, usedforsecurity=False).digest()  # Telegram's definition, not our choice
    return int.from_bytes(digest[12:20], "little", signed=True)


class FencedOut(Exception):
    """The write was refused: this host no longer holds the account's lease with that token."""


def session_load(*, account_id: int) -> tuple[SessionState, int]:
    """The account's session state and its version (0 and an empty state if it never connected)."""
    row = TelegramSession.objects.filter(account_id=account_id).first()
    if row is None or not row.blob:
        return SessionState(), 0
    raw = vault.unseal(bytes(row.blob), context=session_context(account_id=account_id, version=row.version))
    return SessionState.from_bytes(raw), row.version


def sessions_load(*, account_ids: list[int]) -> dict[int, tuple[SessionState, int] | vault.BlobError]:
    """``session_load`` for many accounts in one query; a blob that cannot be opened is its error."""
    found: dict[int, tuple[SessionState, int] | vault.BlobError] = {}
    rows = TelegramSession.objects.filter(account_id__in=account_ids).values_list(
        "account_id", "blob", "version"
    )
    for account_id, blob, version in rows:
        if not blob:
            continue
        try:
            raw = vault.unseal(bytes(blob), context=session_context(account_id=account_id, version=version))
        except vault.BlobError as error:
            found[account_id] = error
            continue
        found[account_id] = (SessionState.from_bytes(raw), version)
    for account_id in account_ids:
        found.setdefault(account_id, (SessionState(), 0))
    return found


def session_store(*, holder: str, grant: Grant, state: SessionState, version: int) -> int:
    """Seal and write the state as ``version + 1`` if, and only if, we still hold the lease.

    Returns the new version. Raises FencedOut when the lease moved on (or its holder's liveness expired,
    or it was revoked) meanwhile, and IntegrityError when another account's session holds the same auth
    key.
    """
    new_version = version + 1
    blob = vault.seal(
        state.to_bytes(), context=session_context(account_id=grant.account_id, version=new_version)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_telegramsession
              (account_id, blob, version, fencing_token, auth_key_id, updated_at)
            SELECT %(account)s, %(blob)s, %(new)s, %(token)s, %(key_id)s, now()
            WHERE EXISTS (SELECT 1 FROM accounts_lease l WHERE l.account_id = %(account)s
                          AND l.holder = %(holder)s AND l.token = %(token)s AND NOT l.revoking
                          AND EXISTS (SELECT 1 FROM accounts_hostliveness h
                                      WHERE h.holder = l.holder AND h.expires_at > now()))
            ON CONFLICT (account_id) DO UPDATE
              SET blob = EXCLUDED.blob, version = EXCLUDED.version,
                  fencing_token = EXCLUDED.fencing_token, auth_key_id = EXCLUDED.auth_key_id,
                  updated_at = now()
              WHERE accounts_telegramsession.version = %(old)s
            RETURNING version
            """,
            {
                "account": grant.account_id,
                "blob": blob,
                "new": new_version,
                "old": version,
                "token": grant.token,
                "holder": holder,
                "key_id": auth_key_id(state.auth_key) if state.auth_key else None,
            },
        )
        if cursor.fetchone() is None:
            raise FencedOut(f"account {grant.account_id}: lease #{grant.token} is no longer ours")
    return new_version


def session_erase(*, account_id: int) -> None:
    """Forget the auth key for good (account deleted or logged out)."""
    TelegramSession.objects.filter(account_id=account_id).delete()
    Entity.objects.filter(account_id=account_id).delete()


def entities_load(*, account_id: int) -> list[tuple[int, int, str, str, str]]:
    limit = settings.SESSION_ENTITY_CACHE_SIZE
    return list(
        Entity.objects.filter(account_id=account_id)
        .order_by("-seen_at")
        .values_list("peer_id", "access_hash", "username", "phone", "name")[:limit]
    )


def entities_load_many(*, account_ids: list[int]) -> dict[int, list[tuple[int, int, str, str, str]]]:
    """``entities_load`` for many accounts in one query (each account's most recent peers, bounded)."""
    found: dict[int, list[tuple[int, int, str, str, str]]] = {account_id: [] for account_id in account_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT account_id, peer_id, access_hash, username, phone, name FROM (
              SELECT *, row_number() OVER (PARTITION BY account_id ORDER BY seen_at DESC) AS rank
              FROM accounts_entity WHERE account_id = ANY(%s)) AS recent
            WHERE rank <= %s
            """,
            [account_ids, settings.SESSION_ENTITY_CACHE_SIZE],
        )
        for account_id, *row in cursor.fetchall():
            found[account_id].append(tuple(row))  # type: ignore[arg-type]
    return found


def entities_store(*, account_id: int, rows: list[tuple[int, int, str, str, str]]) -> None:
    """Upsert peers seen by this account, then trim the cache to its bound (oldest first)."""
    if not rows:
        return
    now = timezone.now()
    Entity.objects.bulk_create(
        [
            Entity(
                account_id=account_id,
                peer_id=peer_id,
                access_hash=access_hash,
                username=username or "",
                phone=phone or "",
                name=(name or "")[:255],
                seen_at=now,
            )
            for peer_id, access_hash, username, phone, name in rows
        ],
        update_conflicts=True,
        unique_fields=["account", "peer_id"],
        update_fields=["access_hash", "username", "phone", "name", "seen_at"],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM accounts_entity WHERE id IN (
              SELECT id FROM accounts_entity WHERE account_id = %s ORDER BY seen_at DESC OFFSET %s)
            """,
            [account_id, settings.SESSION_ENTITY_CACHE_SIZE],
        )
