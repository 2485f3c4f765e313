"""No secret reaches Sentry from any function that handles one: each test makes such a function fail,
lets the event go to a local collector, and looks for the secret there in every encoding."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3

import sentry_sdk
from django.urls import reverse

from accounts import imports, onboarding, sessions
from accounts.leases import Grant
from accounts.models import Account
from crm import vault
from tests.support.sentry import arrived, leaks

# Shaped like a Telethon StringSession: "1" + urlsafe base64 of DC, address, port and a 256-byte key.
FAKE_SESSION = "1" + "BVDMFGGQRkUx_a9-" * 22
FAKE_AUTH_KEY_HEX = "ab12" * 128
# Built at run time: Sentry also sends source lines around each frame, and real secrets never sit in
# source, so the literals must not either.
FAKE_PASSWORD = "".join(["hunter2", "-2fa"])
FAKE_API_HASH = "0123456789abcdef" * 2
PASSWORD = "".join(["correct", "-horse-", "battery"])
CODE = "".join(["7", "3519"])


def _fail_with_secrets(session_string: str, password: str, api_hash: str) -> None:
    auth_key = FAKE_AUTH_KEY_HEX  # noqa: F841 - a local Sentry would capture
    raise RuntimeError(f"could not load session {session_string}")


def test_sentry_events_carry_no_session_string_key_or_password(sentry_bodies):
    try:
        _fail_with_secrets(FAKE_SESSION, password=FAKE_PASSWORD, api_hash=FAKE_API_HASH)
    except RuntimeError:
        sentry_sdk.capture_exception()
    arrived(sentry_bodies, "RuntimeError", "_fail_with_secrets")

    assert leaks(sentry_bodies, FAKE_SESSION) == []
    assert leaks(sentry_bodies, bytes.fromhex(FAKE_AUTH_KEY_HEX)) == []
    assert leaks(sentry_bodies, FAKE_PASSWORD) == []
    assert leaks(sentry_bodies, FAKE_API_HASH) == []


def test_a_keyring_that_fails_to_parse_sends_none_of_its_keys(sentry_bodies):
    good = os.urandom(32)
    try:
        vault.parse_keyring(f"good:{base64.b64encode(good).decode()},bad:not-base64!")
    except vault.KeyringError:
        sentry_sdk.capture_exception()
    arrived(sentry_bodies, "KeyringError", "parse_keyring")

    assert leaks(sentry_bodies, good) == []


def test_a_login_code_that_fails_to_seal_reaches_sentry_in_no_encoding(sentry_bodies, settings, make_account):
    account = make_account(status=Account.Status.CODE_SENT)
    settings.SWITCHBOARD_MASTER_KEYS = ""  # sealing fails with the code in hand
    try:
        onboarding.login_submit_code(account=account, code=CODE)
    except vault.VaultError:
        sentry_sdk.capture_exception()
    arrived(sentry_bodies, "VaultError", "seal_secret")

    assert leaks(sentry_bodies, CODE) == []


def test_a_2fa_password_submitted_to_the_wizard_that_fails_reaches_sentry_in_no_encoding(
    sentry_bodies, settings, admin_client, make_account
):
    account = make_account(status=Account.Status.PASSWORD_NEEDED)
    settings.SWITCHBOARD_MASTER_KEYS = ""
    admin_client.raise_request_exception = False
    response = admin_client.post(
        reverse("accounts:submit_password", args=[account.pk]), {"password": PASSWORD}
    )
    assert response.status_code == 500
    arrived(sentry_bodies, "VaultError", "submit_password")

    assert leaks(sentry_bodies, PASSWORD) == []


def test_a_session_save_that_is_fenced_out_sends_no_auth_key(sentry_bodies, make_account):
    from accounts.telegram.session import VaultSession

    account = make_account()
    state = sessions.SessionState(dc_id=2, server_address="127.0.0.1", port=443, auth_key=os.urandom(256))

    def persist(snapshot: sessions.SessionState) -> None:
        # No lease is held by this holder, so the write is refused with the state in hand.
        sessions.session_store(
            holder="nobody", grant=Grant(account_id=account.pk, token=1), state=snapshot, version=0
        )

    session = VaultSession(state, persist=persist)
    session.set_dc(2, "127.0.0.1", 444)  # something new to save: a save with nothing new writes nothing
    try:
        asyncio.run(session.save())
    except sessions.FencedOut:
        sentry_sdk.capture_exception()
    arrived(sentry_bodies, "FencedOut", "session_store")

    assert leaks(sentry_bodies, state.auth_key) == []


def test_a_session_file_that_fails_to_import_sends_no_auth_key(sentry_bodies, tmp_path):
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    key = os.urandom(256)
    path = tmp_path / "uploaded.session"
    session = SQLiteSession(str(path))
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(key)
    session.save()
    session.close()
    with sqlite3.connect(path) as db:  # an update state row no Telethon wrote
        db.execute("INSERT OR REPLACE INTO update_state VALUES (0, 'x', 0, 0, 0)")
    try:
        imports.state_from_file(path)
    except Exception:
        sentry_sdk.capture_exception()
    arrived(sentry_bodies, "state_from_file")

    assert leaks(sentry_bodies, key) == []
