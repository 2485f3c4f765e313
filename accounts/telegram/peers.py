"""Peers: turning what an operator typed (@username, link, phone or id) or an address we stored into a peer
the account can address, and Telethon's users and chats into our UserInfo / PeerInfo."""

from __future__ import annotations

import re
from typing import Any

from telethon import TelegramClient, functions, types, utils

from accounts.telegram.records import ChannelAddress, Entity, PeerInfo, UserAddress, UserInfo

# What the layer's functions accept as a peer: what an operator typed, a marked id, an address we stored,
# or a peer this module already resolved.
Peer = str | int | UserAddress | ChannelAddress | Any


class PeerNotFound(LookupError):
    """The account cannot find or address that user or chat (access hashes are per account)."""


async def resolve(client: TelegramClient, peer: Peer) -> Any:
    """The input peer Telethon sends for ``peer``; stored addresses need no network."""
    if isinstance(peer, UserAddress):
        return types.InputPeerUser(peer.user_id, peer.access_hash)
    if isinstance(peer, ChannelAddress):
        return types.InputPeerChannel(peer.channel_id, peer.access_hash)
    try:
        return await client.get_input_entity(peer)
    except ValueError:
        # Telethon says "No user has … as username" / "Could not find the input entity" this way.
        raise PeerNotFound(str(peer)) from None


async def resolve_user(client: TelegramClient, *, username: str) -> UserInfo | None:
    """contacts.resolveUsername: the person and this account's own access_hash for them."""
    result = await client(functions.contacts.ResolveUsernameRequest(username.lstrip("@")))
    for user in result.users:
        info = user_info(user)
        if info is not None:
            return info
    return None


def user_info(user: Any) -> UserInfo | None:
    if not isinstance(user, types.User):
        return None
    # A "min" user carries a hash this account cannot use (Telegram sends them in big groups).
    usable_hash = None if getattr(user, "min", False) else user.access_hash
    return UserInfo(
        telegram_id=user.id,
        access_hash=usable_hash,
        username=user.username or "",
        first_name=user.first_name or "",
        last_name=user.last_name or "",
        phone=user.phone or "",
        is_bot=bool(user.bot),
        is_deleted=bool(user.deleted),
    )


def peer_info(peer: Any, entity: Any) -> PeerInfo:
    """The conversation's peer from a peer id and, when the update carried it, its entity."""
    peer_id = utils.get_peer_id(peer)
    if isinstance(peer, types.PeerUser):
        user = user_info(entity)
        return PeerInfo(
            peer_id=peer_id,
            kind="private",
            title=user.display_name if user else "",
            username=user.username if user else "",
            user=user,
        )
    kind = "group"
    if isinstance(entity, types.Channel) and entity.broadcast:
        kind = "channel"
    return PeerInfo(
        peer_id=peer_id,
        kind=kind,
        title=getattr(entity, "title", "") or "",
        username=getattr(entity, "username", "") or "",
    )


def sender_name(sender: Any) -> str:
    if isinstance(sender, types.User):
        info = user_info(sender)
        return info.display_name if info else ""
    return getattr(sender, "title", "") or ""


_PHONE = re.compile(r"^\+[\d\s()-]{5,20}$")


def marked_id(target: str | int) -> int | None:
    """The marked id ``target`` names (an int, or digits with an optional minus), else None: then it is a
    username, a link or a phone, which costs a lookup on Telegram."""
    if isinstance(target, int):
        return target
    text = target.strip()
    return int(text) if text.lstrip("-").isdigit() else None


async def find(client: TelegramClient, target: str | int) -> Entity:
    """Who or what ``target`` is, as this account sees it: a marked id it has met, @username or t.me link
    (contacts.resolveUsername), an invite link to a chat it is in, or a phone number "+…"
    (contacts.resolvePhone, which finds only people whose privacy allows it)."""
    peer_id = marked_id(target)
    text = str(target).strip()
    try:
        if peer_id is not None:
            entity = await client.get_entity(peer_id)
        elif _PHONE.match(text):
            found = await client(functions.contacts.ResolvePhoneRequest(re.sub(r"[^\d]", "", text)))
            entity = found.users[0]
        else:
            entity = await client.get_entity(text)
    except ValueError:
        # Telethon's words for an unknown id, a free username or a chat behind an invite it is not in.
        raise PeerNotFound(text) from None
    return entity_record(entity)


def entity_record(entity: Any) -> Entity:
    peer_id = utils.get_peer_id(entity)
    if isinstance(entity, types.User):
        user = user_info(entity)
        return Entity(
            peer_id=peer_id,
            kind="user",
            name=user.display_name if user else "",
            username=entity.username or "",
            bot=bool(entity.bot),
        )
    broadcast = isinstance(entity, types.Channel | types.ChannelForbidden) and bool(entity.broadcast)
    return Entity(
        peer_id=peer_id,
        kind="channel" if broadcast else "group",
        name=getattr(entity, "title", "") or "",
        username=getattr(entity, "username", "") or "",
    )
