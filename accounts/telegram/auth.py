"""Login steps: send the code, sign in with it, answer the 2FA password, log out."""

from __future__ import annotations

from telethon import TelegramClient, functions

from accounts.telegram.errors import needs_password
from accounts.telegram.profile import get_me
from accounts.telegram.records import CodeSent, PasswordNeeded, SignedIn


async def send_code(client: TelegramClient, *, phone: str) -> CodeSent:
    sent = await client.send_code_request(phone)
    delivery = type(sent.type).__name__.removeprefix("SentCodeType").lower() or "app"
    return CodeSent(phone_code_hash=sent.phone_code_hash, delivery=delivery, timeout=sent.timeout)


async def sign_in(
    client: TelegramClient, *, phone: str, code: str, phone_code_hash: str
) -> SignedIn | PasswordNeeded:
    try:
        await client.sign_in(phone=phone, code=code, phone_code_hash=phone_code_hash)
    except Exception as error:
        if not needs_password(error):
            raise
        password = await client(functions.account.GetPasswordRequest())
        return PasswordNeeded(hint=password.hint or "")
    return SignedIn(me=await get_me(client))


async def check_password(client: TelegramClient, *, password: str) -> SignedIn:
    await client.sign_in(password=password)
    return SignedIn(me=await get_me(client))


async def log_out(client: TelegramClient) -> bool:
    return bool(await client.log_out())
