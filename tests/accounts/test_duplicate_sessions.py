"""The same Telegram session is never hosted twice: not by importing its key again, not by importing
another key of the same Telegram user, not by a re-login that signs in as another account's user."""

from __future__ import annotations

import random
import sqlite3
import time

import pytest
from celery.result import AsyncResult
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

from accounts import commands, imports, onboarding
from accounts.models import Account, Lease, TelegramSession
from accounts.sessions import SessionState
from tests.support.accounts import login_session, new_phone
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def string_of(state: SessionState) -> str:
    session = StringSession()
    session.set_dc(state.dc_id, state.server_address, state.port)
    session.auth_key = AuthKey(state.auth_key)
    return session.save()


def session_file_of(state: SessionState, path, *, user_id: int | None = None):
    """A Telethon .session file of this state; with user_id, it also names its user as Telethon does."""
    session = SQLiteSession(str(path))
    session.set_dc(state.dc_id, state.server_address, state.port)
    session.auth_key = AuthKey(state.auth_key)
    session.save()
    session.close()
    file = path.with_suffix(".session")
    if user_id is not None:
        with sqlite3.connect(file) as conn:
            conn.execute("INSERT INTO entities (id, hash) VALUES (0, ?)", (user_id,))
    return file


def web_import(client, api_app, **data) -> str:
    response = client.post(
        reverse("accounts:import"), {"api_app": api_app.pk, **data}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # the form again, with the reason: nothing was imported
    return response.content.decode()


def cli_import(api_app, *args: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("account", "import", *args, "--api-id", str(api_app.api_id))
    return str(refused.value)


def key_duplicated(tgsim, state: SessionState) -> bool:
    """Whether tgsim killed this key with AUTH_KEY_DUPLICATED."""
    key_id = AuthKey(state.auth_key).key_id
    return tgsim.run(lambda: tgsim.sim.server.keys[key_id].duplicated)


def signed_in_keys(tgsim, user_id: int) -> int:
    return tgsim.run(lambda: len(tgsim.sim.server.authorizations(user_id)))


def send(account: Account, *, username: str, text: str) -> str:
    return commands.send.queue(
        account,
        peer=f"@{username}",
        text=text,
        random_id=random.getrandbits(63),
    )


def user_with_friend(tgsim, name: str) -> tuple[str, int, str, int]:
    """A Telegram user (phone, id) and a friend it can write to (username, id)."""
    phone = new_phone()
    user_id = tgsim.world_call("create_user", phone=phone, first_name=name)
    friend = f"f{user_id}"
    friend_id = tgsim.world_call("create_user", phone=new_phone(), first_name="Friend", username=friend)
    return phone, user_id, friend, friend_id


def texts(tgsim, user_id: int, friend_id: int) -> list[str]:
    return [m["text"] for m in tgsim.world_call("messages_between", user_id, friend_id)]


def connected(account: Account, user_id: int) -> bool:
    return Account.objects.filter(pk=account.pk, telegram_id=user_id, status=Account.Status.ACTIVE).exists()


def test_a_session_already_hosted_is_refused_on_every_import_path_before_connecting(
    tgsim, host_env, api_app, admin_client, tmp_path
):
    phone, user_id, friend, friend_id = user_with_friend(tgsim, "Original")
    state = login_session(tgsim, phone=phone)
    original = imports.account_import(state=state, api_app=api_app, phone=phone)
    with (
        session_host("a", log_path=tmp_path / "a.log", env=host_env),
        session_host("b", log_path=tmp_path / "b.log", env=host_env),
    ):
        wait_for(lambda: connected(original, user_id), timeout=60, what="the original to connect")
        string = string_of(state)
        file = session_file_of(state, tmp_path / "exported")
        refusal = f"This session is already in the fleet as account #{original.pk}"

        html = web_import(admin_client, api_app, string_session=string)
        assert refusal in html and string not in html
        upload = SimpleUploadedFile("exported.session", file.read_bytes())
        assert refusal in web_import(admin_client, api_app, session_file=upload)
        assert refusal in cli_import(api_app, "--string", string)
        assert refusal in cli_import(api_app, "--file", str(file))
        assert Account.objects.count() == 1 and TelegramSession.objects.count() == 1

        result = AsyncResult(send(original, username=friend, text="still here")).get(timeout=60)
    assert result["ok"], result
    assert texts(tgsim, user_id, friend_id) == ["still here"]
    original.refresh_from_db()
    assert original.status == Account.Status.ACTIVE
    assert not key_duplicated(tgsim, state), "tgsim saw AUTH_KEY_DUPLICATED"


def test_another_key_of_a_hosted_user_is_disabled_before_it_takes_a_command(
    tgsim, host_env, api_app, admin_client, tmp_path
):
    phone, user_id, friend, friend_id = user_with_friend(tgsim, "Twice")
    first, second = login_session(tgsim, phone=phone), login_session(tgsim, phone=phone)
    original = imports.account_import(state=first, api_app=api_app, phone=phone)
    with session_host("a", log_path=tmp_path / "a.log", env=host_env):
        wait_for(lambda: connected(original, user_id), timeout=60, what="the original to connect")
        # A .session file names its user: refused before anything connects.
        file = session_file_of(second, tmp_path / "other", user_id=user_id)
        upload = SimpleUploadedFile("other.session", file.read_bytes())
        html = web_import(admin_client, api_app, session_file=upload)
        assert f"This Telegram user is already in the fleet as account #{original.pk}" in html
        assert Account.objects.count() == 1

        # A StringSession does not: the host learns who it is, and stops it before any command runs.
        twin = imports.account_import(state=second, api_app=api_app)
        send(twin, username=friend, text="sent by the duplicate")
        wait_for(
            lambda: Account.objects.filter(pk=twin.pk, status=Account.Status.DISABLED).exists(),
            timeout=60,
            what="the duplicate to be disabled",
        )
        time.sleep(4)  # two checkpoint intervals in which a hosted duplicate would run its command
        result = AsyncResult(send(original, username=friend, text="the original still works")).get(timeout=60)
        twin_lease = Lease.objects.get(pk=twin.pk)
    twin.refresh_from_db()
    original.refresh_from_db()
    assert twin.status_reason == f"Duplicate of account #{original.pk} (same Telegram user)"
    assert twin.telegram_id is None and twin_lease.holder == ""
    assert result["ok"], result
    assert texts(tgsim, user_id, friend_id) == ["the original still works"]
    assert original.status == Account.Status.ACTIVE and original.telegram_id == user_id
    assert not key_duplicated(tgsim, first) and not key_duplicated(tgsim, second)


def test_a_relogin_that_signs_in_as_another_account_s_user_is_refused_in_plain_words(
    tgsim, host_env, api_app, admin_client, make_account, tmp_path
):
    phone, user_id, friend, friend_id = user_with_friend(tgsim, "Moved")
    # The original was imported under the number its owner had before; Telegram now knows it by `phone`.
    original = imports.account_import(
        state=login_session(tgsim, phone=phone), api_app=api_app, phone=new_phone()
    )
    newcomer = make_account(phone=phone)
    with session_host("a", log_path=tmp_path / "a.log", env=host_env):
        wait_for(lambda: connected(original, user_id), timeout=60, what="the original to connect")
        sent = AsyncResult(onboarding.login_request_code(account=newcomer)).get(timeout=60)
        assert sent["ok"], sent
        code = phone[5] * 5
        result = AsyncResult(onboarding.login_submit_code(account=newcomer, code=code)).get(timeout=60)
        reason = f"Duplicate of account #{original.pk} (same Telegram user)"
        assert result == {"ok": False, "error": reason, "status": Account.Status.DISABLED}
        wait_for(lambda: signed_in_keys(tgsim, user_id) == 1, timeout=30, what="the refused key's log-out")
        page = admin_client.get(reverse("accounts:login", args=[newcomer.pk])).content.decode()
        sent = AsyncResult(send(original, username=friend, text="undisturbed")).get(timeout=60)
    newcomer.refresh_from_db()
    original.refresh_from_db()
    assert reason in page
    assert newcomer.status == Account.Status.DISABLED and newcomer.telegram_id is None
    assert not TelegramSession.objects.filter(account=newcomer).exists()
    assert sent["ok"], sent
    assert texts(tgsim, user_id, friend_id) == ["undisturbed"]
    assert original.status == Account.Status.ACTIVE and original.telegram_id == user_id
