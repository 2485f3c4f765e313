"""Joining and leaving groups and channels."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telethon import TelegramClient, functions, utils

from accounts.telegram import peers

INVITE = re.compile(r"(?:t\.me/\+|t\.me/joinchat/|^\+)([\w-]+)$")


@dataclass(frozen=True)
class Joined:
    peer_id: int
    title: str


async def join(client: TelegramClient, *, target: str) -> Joined:
    """Join by @username, t.me/name, or an invite link (t.me/+hash)."""
    target = target.strip()
    invite = INVITE.search(target)
    if invite:
        result = await client(functions.messages.ImportChatInviteRequest(invite.group(1)))
        chat = result.chats[0]
    else:
        name = target.rsplit("/", 1)[-1].lstrip("@")
        entity = await peers.resolve(client, name)
        result = await client(functions.channels.JoinChannelRequest(entity))
        chat = result.chats[0]
    return Joined(peer_id=utils.get_peer_id(chat), title=getattr(chat, "title", ""))


async def leave(client: TelegramClient, *, target: str | int) -> bool:
    entity = await peers.resolve(client, target)
    await client.delete_dialog(entity)
    return True
