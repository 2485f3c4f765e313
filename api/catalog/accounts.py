"""One account as Telegram sees it: its own profile, and resolving who or what a name points at."""

from __future__ import annotations

from pydantic import BaseModel

from accounts import commands
from api.tools import Call, NoParams, tool


class Me(BaseModel):
    id: int  # the account's id here
    telegram_id: int
    username: str
    name: str
    phone: str


@tool("me", "GET", "/accounts/{account}/me", scope="messages:read", read_only=True)
def me(call: Call, params: NoParams) -> Me:
    """The account's own Telegram profile, fetched from Telegram now."""
    assert call.account is not None
    profile = call.command(commands.refresh_profile)
    call.account.refresh_from_db()
    return Me(
        id=call.account.pk,
        telegram_id=profile.telegram_id,
        username=profile.username,
        name=call.account.display_name,
        phone=call.account.phone if not call.account.phone.startswith("import-") else "",
    )
