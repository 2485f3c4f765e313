"""Build a Telethon client for an account: where Telegram is, which keys to trust, which device."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from django.conf import settings
from telethon import TelegramClient
from telethon.crypto import rsa
from telethon.network import ConnectionTcpFull
from telethon.sessions.abstract import Session

from accounts.proxies import parse_proxy

_PEM_BLOCK = re.compile(r"-----BEGIN RSA PUBLIC KEY-----.+?-----END RSA PUBLIC KEY-----", re.S)


@functools.cache
def _trust_server_keys(path: str) -> int:
    """Register the MTProto server RSA keys in a PEM file (PKCS#1, one or more) with Telethon, once."""
    blocks = _PEM_BLOCK.findall(Path(path).read_text())
    if not blocks:
        raise ValueError(f"TELEGRAM_SERVER_KEYS: no 'BEGIN RSA PUBLIC KEY' block in {path}")
    for block in blocks:
        rsa.add_key(block, old=False)
    return len(blocks)


def configured_dc() -> tuple[int, str, int] | None:
    """TELEGRAM_DC as (id, host, port), or None for Telegram's own data centres."""
    value = settings.TELEGRAM_DC
    if not value:
        return None
    try:
        dc, address = value.split("@", 1)
        host, port = address.rsplit(":", 1)
        return int(dc), host.strip("[]"), int(port)
    except ValueError:
        raise ValueError(f"TELEGRAM_DC must look like 2@127.0.0.1:9443, not {value!r}") from None


def build_client(
    *,
    session: Session,
    api_id: int,
    api_hash: str,
    device: dict[str, str],
    proxy: str = "",
    catch_up: bool = True,
) -> TelegramClient:
    """A client for one account. Production and tests differ only by TELEGRAM_DC / TELEGRAM_SERVER_KEYS."""
    if settings.TELEGRAM_SERVER_KEYS:
        _trust_server_keys(settings.TELEGRAM_SERVER_KEYS)
    dc = configured_dc()
    if dc is not None:
        session.set_dc(*dc)
    return TelegramClient(
        session,
        api_id,
        api_hash,
        connection=ConnectionTcpFull,
        proxy=parse_proxy(proxy),
        device_model=device["device_model"],
        system_version=device["system_version"],
        app_version=device["app_version"],
        lang_code=device["lang_code"],
        system_lang_code=device["system_lang_code"],
        catch_up=catch_up,
        flood_sleep_threshold=settings.FLOOD_SLEEP_THRESHOLD,
        request_retries=3,
        # After its retries (short flood waits slept, Telegram's internal errors waited out), Telethon
        # raises what Telegram last answered rather than a bare ValueError, so it is sorted like any other.
        raise_last_call_error=True,
        connection_retries=3,
        retry_delay=1,
        # The session host reconnects, and only after confirming it still holds the lease: a host that
        # was paused past its TTL must never reconnect on its own (AUTH_KEY_DUPLICATED, invariant 1).
        auto_reconnect=False,
        receive_updates=True,
    )
