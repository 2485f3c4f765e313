"""Who the account is on Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from telethon import TelegramClient

from accounts.models import Account


@dataclass(frozen=True)
class Me:
    telegram_id: int
    username: str
    first_name: str
    last_name: str
    phone: str


async def get_me(client: TelegramClient) -> Me:
    """Ask Telegram for the signed-in user (a cheap call that also proves the session works)."""
    user = await client.get_me()
    if user is None:
        from telethon.errors import AuthKeyUnregisteredError

        raise AuthKeyUnregisteredError(request=None)
    return Me(user.id, user.username or "", user.first_name or "", user.last_name or "", user.phone or "")


def profile_save(*, account_id: int, me: Me) -> None:
    Account.objects.filter(pk=account_id).update(
        telegram_id=me.telegram_id, username=me.username, first_name=me.first_name, last_name=me.last_name
    )
