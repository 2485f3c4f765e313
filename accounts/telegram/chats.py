"""Finding, joining and leaving groups and channels."""

from __future__ import annotations

import re

from telethon import TelegramClient, functions, types, utils

from accounts.telegram import peers
from accounts.telegram.records import ChannelAddress, Entity, Group, Joined

INVITE = re.compile(r"(?:t\.me/\+|t\.me/joinchat/|^\+)([\w-]+)$")
_LINK = re.compile(r"^(https?://)?(t\.me/|telegram\.me/)?@?")


async def join(client: TelegramClient, *, target: str | ChannelAddress) -> Joined:
    """Join by @username, t.me/name, an invite link (t.me/+hash), or a channel address we stored."""
    if isinstance(target, str) and (invite := INVITE.search(target.strip())):
        result = await client(functions.messages.ImportChatInviteRequest(invite.group(1)))
    else:
        channel = await _channel(client, target)
        result = await client(functions.channels.JoinChannelRequest(channel))
    chat = result.chats[0]
    return Joined(peer_id=utils.get_peer_id(chat), title=getattr(chat, "title", ""))


async def _channel(client: TelegramClient, target: str | int | ChannelAddress) -> types.InputChannel:
    peer = target.strip().rsplit("/", 1)[-1].lstrip("@") if isinstance(target, str) else target
    entity = await peers.resolve(client, peer)
    if not isinstance(entity, types.InputPeerChannel):
        raise peers.PeerNotFound(f"{target} as a supergroup or channel")
    return types.InputChannel(entity.channel_id, entity.access_hash)


async def find_group(client: TelegramClient, *, target: str) -> Group:
    """A group by @name, t.me/name or invite link, as this account sees it (joining an invite link)."""
    target = target.strip()
    invite = INVITE.search(target)
    if invite:
        checked = await client(functions.messages.CheckChatInviteRequest(invite.group(1)))
        chat = getattr(checked, "chat", None)
        if chat is None:
            joined = await client(functions.messages.ImportChatInviteRequest(invite.group(1)))
            chat = joined.chats[0]
    else:
        name = _LINK.sub("", target).strip("/")
        result = await client(functions.contacts.ResolveUsernameRequest(name))
        chat = next((c for c in result.chats if isinstance(c, types.Channel)), None)
        if chat is None:
            raise LookupError(f"{target} is not a group")
    return Group(
        channel_id=chat.id, access_hash=chat.access_hash or 0, title=chat.title, member=not chat.left
    )


async def leave(client: TelegramClient, *, target: str | int) -> bool:
    entity = await peers.resolve(client, target)
    if isinstance(entity, types.InputPeerUser | types.InputPeerSelf):
        # delete_dialog would clear a private chat's history: leaving is for groups and channels only.
        raise peers.PeerNotFound(f"{target} as a group or channel")
    await client.delete_dialog(entity)
    return True


async def create(client: TelegramClient, *, title: str, about: str, broadcast: bool) -> Entity:
    """channels.createChannel: a supergroup, or a broadcast channel, with this account as its creator."""
    result = await client(
        functions.channels.CreateChannelRequest(
            title=title, about=about, broadcast=broadcast or None, megagroup=not broadcast or None
        )
    )
    return peers.entity_record(result.chats[0])


async def delete(client: TelegramClient, *, target: str | int) -> None:
    """channels.deleteChannel: gone for every member. Telegram lets only its creator do it
    (CHAT_ADMIN_REQUIRED for anyone else)."""
    await client(functions.channels.DeleteChannelRequest(await _channel(client, target)))
