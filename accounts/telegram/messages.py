"""Sending messages (with a random_id chosen and stored by us) and reading dialogs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telethon import TelegramClient, functions, types, utils

from accounts.telegram import peers


@dataclass(frozen=True)
class Sent:
    message_id: int
    date: datetime | None


@dataclass(frozen=True)
class DialogInfo:
    peer_id: int
    kind: str  # private, group, channel
    title: str
    username: str
    unread_count: int
    top_message_id: int


async def send_message(
    client: TelegramClient, *, peer: str | int, text: str, random_id: int, reply_to: int | None = None
) -> Sent:
    """Send ``text`` with the caller's ``random_id``: a retry with the same id is deduplicated by Telegram."""
    entity = await peers.resolve(client, peer)
    result = await client(
        functions.messages.SendMessageRequest(
            peer=entity,
            message=text,
            random_id=random_id,
            reply_to=types.InputReplyToMessage(reply_to) if reply_to else None,
        )
    )
    if isinstance(result, types.UpdateShortSentMessage):
        return Sent(result.id, result.date)
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateMessageID) and update.random_id == random_id:
            return Sent(update.id, None)
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateNewMessage | types.UpdateNewChannelMessage):
            return Sent(update.message.id, update.message.date)
    raise RuntimeError("Telegram's answer to sendMessage carried no message id")


async def dialogs(client: TelegramClient, *, limit: int = 100) -> list[DialogInfo]:
    found = []
    async for dialog in client.iter_dialogs(limit=limit):
        entity = dialog.entity
        kind = (
            "private"
            if dialog.is_user
            else ("channel" if dialog.is_channel and not dialog.is_group else "group")
        )
        found.append(
            DialogInfo(
                peer_id=utils.get_peer_id(entity),
                kind=kind,
                title=dialog.name or "",
                username=getattr(entity, "username", None) or "",
                unread_count=dialog.unread_count,
                top_message_id=dialog.message.id if dialog.message else 0,
            )
        )
    return found
