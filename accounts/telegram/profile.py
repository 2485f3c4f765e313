"""Who the account is on Telegram."""

from __future__ import annotations

from telethon import TelegramClient, functions, types

from accounts.telegram.records import Me


async def get_me(client: TelegramClient) -> Me:
    """Ask Telegram for the signed-in user (a cheap call that also proves the session works).

    Raw users.getUsers rather than ``client.get_me()``, which turns every 401 (a ban included) into None:
    the recovery flow needs to know which error it was.
    """
    (user,) = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
    return Me(user.id, user.username or "", user.first_name or "", user.last_name or "", user.phone or "")
