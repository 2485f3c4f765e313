"""Login steps: send the code, sign in with it, answer the 2FA password, log out."""

from __future__ import annotations

from dataclasses import dataclass

from telethon import TelegramClient, errors, functions

from accounts.telegram.profile import Me, get_me


@dataclass(frozen=True)
class CodeSent:
    phone_code_hash: str
    delivery: str  # how Telegram delivered it: app, sms, call…
    timeout: int | None


@dataclass(frozen=True)
class SignedIn:
    me: Me


@dataclass(frozen=True)
class PasswordNeeded:
    hint: str


async def send_code(client: TelegramClient, *, phone: str) -> CodeSent:
    sent = await client.send_code_request(phone)
    delivery = type(sent.type).__name__.removeprefix("SentCodeType").lower() or "app"
    return CodeSent(phone_code_hash=sent.phone_code_hash, delivery=delivery, timeout=sent.timeout)


async def sign_in(
    client: TelegramClient, *, phone: str, code: str, phone_code_hash: str
) -> SignedIn | PasswordNeeded:
    try:
        await client.sign_in(phone=phone, code=code, phone_code_hash=phone_code_hash)
    except errors.SessionPasswordNeededError:
        password = await client(functions.account.GetPasswordRequest())
        return PasswordNeeded(hint=password.hint or "")
    return SignedIn(me=await get_me(client))


async def check_password(client: TelegramClient, *, password: str) -> SignedIn:
    await client.sign_in(password=password)
    return SignedIn(me=await get_me(client))


async def log_out(client: TelegramClient) -> bool:
    return bool(await client.log_out())
