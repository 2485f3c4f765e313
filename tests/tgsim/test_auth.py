"""Login, 2FA, sign-up and log-out through Telethon's own auth flow."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events
from telethon.tl import functions, types

from tests.tgsim.worldkit import new_phone

pytestmark = pytest.mark.asyncio


async def test_login_with_test_phone_code(wsim, login):
    phone = new_phone()
    uid = wsim.world.create_user(phone, "Ada", "Lovelace", username="ada_l")
    client = await login(phone)
    me = await client.get_me()
    assert (me.id, me.first_name, me.username, me.phone) == (uid, "Ada", "ada_l", phone)
    assert me.is_self


async def test_login_with_2fa_password(wsim, login):
    phone = new_phone()
    wsim.world.create_user(phone, "Secure", password="correct horse")
    client = await login(phone, password="correct horse")
    assert (await client.get_me()).first_name == "Secure"


async def test_wrong_password_is_password_hash_invalid(wsim):
    phone = new_phone()
    wsim.world.create_user(phone, "Secure", password="right")
    client = wsim.client(request_retries=1)
    await client.connect()
    try:
        await client.send_code_request(phone)
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(phone, "22222")
        with pytest.raises(errors.PasswordHashInvalidError):
            await client.sign_in(password="wrong")
        assert not await client.is_user_authorized()
        await client.sign_in(password="right")
        assert await client.is_user_authorized()
    finally:
        await client.disconnect()


async def test_wrong_and_superseded_codes(wsim):
    phone = "447700900123"  # not a test number: a random code, readable through the control API
    wsim.world.create_user(phone, "Random")
    client = wsim.client(request_retries=1)
    await client.connect()
    try:
        first = await client(functions.auth.SendCodeRequest(phone, 1, "h", types.CodeSettings()))
        code = wsim.world.login_code(phone)
        assert len(code) == 5 and code.isdigit()
        wrong = "00000" if code != "00000" else "11111"
        with pytest.raises(errors.PhoneCodeInvalidError):
            await client(functions.auth.SignInRequest(phone, first.phone_code_hash, wrong))
        with pytest.raises(errors.PhoneCodeEmptyError):
            await client(functions.auth.SignInRequest(phone, first.phone_code_hash, ""))
        # A new code makes the old hash useless.
        second = await client(functions.auth.SendCodeRequest(phone, 1, "h", types.CodeSettings()))
        with pytest.raises(errors.PhoneCodeExpiredError):
            await client(functions.auth.SignInRequest(phone, first.phone_code_hash, code))
        result = await client(
            functions.auth.SignInRequest(phone, second.phone_code_hash, wsim.world.login_code(phone))
        )
        assert isinstance(result, types.auth.Authorization)
    finally:
        await client.disconnect()


async def test_invalid_phone(wsim):
    client = wsim.client(request_retries=1)
    await client.connect()
    try:
        with pytest.raises(errors.PhoneNumberInvalidError):
            await client(functions.auth.SendCodeRequest("not-a-phone", 1, "h", types.CodeSettings()))
    finally:
        await client.disconnect()


async def test_unknown_test_number_signs_up(wsim):
    phone = new_phone()
    client = wsim.client(request_retries=1)
    await client.connect()
    try:
        sent = await client.send_code_request(phone)
        # Telethon turns authorizationSignUpRequired into PhoneNumberUnoccupiedError...
        with pytest.raises(errors.PhoneNumberUnoccupiedError):
            await client.sign_in(phone, "22222")
        # ...and refuses to sign up itself, so the raw request it would have sent is used.
        auth = await client(functions.auth.SignUpRequest(phone, sent.phone_code_hash, "Newbie", "User"))
        assert auth.user.first_name == "Newbie"
        assert wsim.world.user_by_phone(phone)["id"] == auth.user.id
        assert (await client.get_me()).id == auth.user.id
    finally:
        await client.disconnect()


async def test_authorizations_and_log_out(wsim, login):
    phone = new_phone()
    wsim.world.create_user(phone, "Multi")
    first = await login(phone)
    second = await login(phone)
    auths = (await first(functions.account.GetAuthorizationsRequest())).authorizations
    assert len(auths) == 2 and sum(bool(a.current) for a in auths) == 1
    other = next(a for a in auths if not a.current)
    assert await first(functions.account.ResetAuthorizationRequest(other.hash))
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await second(functions.users.GetUsersRequest([types.InputUserSelf()]))
    assert await first.log_out()


async def test_a_login_code_for_a_logged_in_account_arrives_from_telegrams_service_account(wsim, login):
    phone = new_phone()
    uid = wsim.world.create_user(phone, "Fleet")
    logged_in = await login(phone)
    received = []
    logged_in.add_event_handler(lambda event: received.append(event.message), events.NewMessage())
    other = await login(phone)  # a second device asks for a code: the first session is told it
    await asyncio.sleep(0.5)
    [message] = [m for m in received if m.sender_id == 777000]
    sender = await message.get_sender()
    assert sender.first_name == "Telegram" and sender.verified and sender.support
    assert message.message.startswith(f"Login code: {phone[5] * 5}. Do not give this code to anyone")
    assert wsim.world.messages_between(uid, 777000)[-1]["text"] == message.message
    assert await other.get_me()


async def test_calls_before_sign_in_are_unauthorized(wsim):
    client = wsim.client(request_retries=1)
    await client.connect()
    try:
        assert await client.get_me() is None
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await client(functions.updates.GetStateRequest())
    finally:
        await client.disconnect()
