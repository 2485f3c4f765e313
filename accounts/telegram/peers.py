"""Turning what an operator typed (@username, link, phone or id) into a peer the account can address."""

from __future__ import annotations

from typing import Any

from telethon import TelegramClient


class PeerNotFound(Exception):
    """The account cannot find or address that user or chat (access hashes are per account)."""


async def resolve(client: TelegramClient, peer: str | int) -> Any:
    try:
        return await client.get_input_entity(peer)
    except ValueError:
        # Telethon says "No user has … as username" / "Could not find the input entity" this way.
        raise PeerNotFound(str(peer)) from None
