"""Logged-in accounts for tests, without walking the login wizard each time."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

from accounts import imports
from accounts.models import Account, ApiApp
from accounts.sessions import SessionState

# Distinct per test process, so phones never collide in the shared tgsim world.
_numbers = itertools.count((os.getpid() % 90) * 100 + 1)


def new_phone(dc: int = 2) -> str:
    """A fresh Telegram test-DC number 99966XYYYY; its login code is XXXXX (X = the DC id)."""
    return f"99966{dc}{next(_numbers) % 10000:04d}"


async def log_in(
    tgsim, *, phone: str, password: str | None = None, code_of: Callable[[str], str | None] | None = None
) -> SessionState:
    """Log the phone in with a throwaway Telethon client and hand back its session, as an import would.
    A test number's code is its DC digit five times; any other number reads the code sent with ``code_of``."""
    client = tgsim.client()
    await client.connect()
    try:
        await client.send_code_request(phone)
        try:
            await client.sign_in(phone, code_of(phone) if code_of else phone[5] * 5)
        except Exception as error:
            if type(error).__name__ != "SessionPasswordNeededError":
                raise
            await client.sign_in(password=password)
        session = client.session
        return SessionState(
            dc_id=session.dc_id,
            server_address=session.server_address,
            port=session.port,
            auth_key=session.auth_key.key,
        )
    finally:
        await client.disconnect()


def login_session(tgsim, *, phone: str, password: str | None = None) -> SessionState:
    return tgsim.run(log_in(tgsim, phone=phone, password=password))


def ready_account(
    tgsim,
    api_app: ApiApp,
    *,
    first_name: str = "Agent",
    password: str | None = None,
    username: str | None = None,
) -> tuple[Account, int]:
    """An active account (imported session) and its Telegram user id in tgsim. Needs no running host."""
    phone = new_phone()
    user_id = tgsim.world_call(
        "create_user", phone=phone, first_name=first_name, password=password, username=username
    )
    state = login_session(tgsim, phone=phone, password=password)
    account = imports.account_import(state=state, api_app=api_app, phone=phone)
    return account, user_id
