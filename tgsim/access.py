"""Per-viewer access hashes and the resolution of Input* peers into world ids.

access_hash is per viewer: Telegram gives every account its own access_hash for the same user or channel,
and rejects an InputPeer/InputUser/InputChannel carrying a hash that was issued to somebody else. We derive
it as HMAC(secret, viewer:target), so it is stable across restarts (the secret is saved with the world) and
needs no table.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim.rpc import RpcError, bad_request

if TYPE_CHECKING:
    from tgsim.model import Channel, Chat, User
    from tgsim.world import World


def access_hash(secret: bytes, viewer: int, target: int) -> int:
    digest = hmac.new(secret, f"{viewer}:{target}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def peer_hash(world: World, viewer: int, target: int) -> int:
    return access_hash(world.secret, viewer, target)


def media_hash(secret: bytes, media_id: int) -> int:
    digest = hmac.new(secret, f"media:{media_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _check_user(world: World, viewer: int, user_id: int, given_hash: int, error: str) -> User:
    user = world.users.get(user_id)
    if user is None:
        raise bad_request(error)
    if user_id != viewer and given_hash != peer_hash(world, viewer, user_id):
        raise bad_request(error)
    return user


def input_user(world: World, viewer: int, peer: object) -> User:
    """InputUser / InputPeerUser / InputUserSelf -> User. A foreign hash is 400 USER_ID_INVALID."""
    if isinstance(peer, types.InputUserSelf | types.InputPeerSelf):
        return world.users[viewer]
    if isinstance(peer, types.InputUser | types.InputPeerUser):
        return _check_user(world, viewer, peer.user_id, peer.access_hash, "USER_ID_INVALID")
    if isinstance(peer, types.InputUserFromMessage | types.InputPeerUserFromMessage):
        return _from_message(world, viewer, peer, "USER_ID_INVALID")
    raise bad_request("USER_ID_INVALID")


def _from_message(world: World, viewer: int, peer: object, error: str) -> User:
    # Telegram accepts a user the viewer saw in a message it can access, without that user's hash.
    channel = input_channel(world, viewer, _channel_of(peer.peer))
    msg = channel.messages.get(peer.msg_id)
    if msg is None or msg.from_id != peer.user_id or peer.user_id not in world.users:
        raise bad_request(error)
    return world.users[peer.user_id]


def _channel_of(peer: object) -> object:
    if isinstance(peer, types.InputPeerChannel):
        return types.InputChannel(peer.channel_id, peer.access_hash)
    return peer


def input_channel(world: World, viewer: int, peer: object, *, need_member: bool = False) -> Channel:
    """InputChannel / InputPeerChannel -> Channel.

    A hash issued to another account (or an unknown id) is 400 CHANNEL_INVALID; a private channel the
    viewer is not in (or was kicked from) is 400 CHANNEL_PRIVATE, as Telegram answers.
    """
    peer = _channel_of(peer)
    if isinstance(peer, types.InputChannelFromMessage):
        raise bad_request("CHANNEL_INVALID")
    if not isinstance(peer, types.InputChannel):
        raise bad_request("CHANNEL_INVALID")
    channel = world.channels.get(peer.channel_id)
    if channel is None or peer.access_hash != peer_hash(world, viewer, channel.id):
        raise bad_request("CHANNEL_INVALID")
    if viewer in channel.kicked:
        raise bad_request("CHANNEL_PRIVATE")
    if viewer not in channel.members and (need_member or not channel.username):
        raise bad_request("CHANNEL_PRIVATE")
    return channel


def input_peer(world: World, viewer: int, peer: object) -> int:
    """Any InputPeer -> a user or channel id. A foreign user hash is 400 PEER_ID_INVALID."""
    if isinstance(peer, types.InputPeerSelf | types.InputUserSelf):
        return viewer
    if isinstance(peer, types.InputPeerUser | types.InputUser):
        return _check_user(world, viewer, peer.user_id, peer.access_hash, "PEER_ID_INVALID").id
    if isinstance(peer, types.InputPeerUserFromMessage):
        return _from_message(world, viewer, peer, "PEER_ID_INVALID").id
    if isinstance(peer, types.InputPeerChannel | types.InputChannel):
        return input_channel(world, viewer, peer).id
    if isinstance(peer, types.InputPeerChannelFromMessage):
        raise bad_request("CHANNEL_INVALID")
    if isinstance(peer, types.InputPeerChat):
        return input_chat(world, viewer, peer.chat_id).id
    raise bad_request("PEER_ID_INVALID")


def input_chat(world: World, viewer: int, chat_id: int) -> Chat:
    """A basic group by id (they have no access_hash): unknown ids are CHAT_ID_INVALID, groups the viewer
    is not in PEER_ID_INVALID."""
    group = world.chats.get(chat_id)
    if group is None:
        raise bad_request("CHAT_ID_INVALID")
    if viewer not in group.members:
        raise bad_request("PEER_ID_INVALID")
    return group


def is_channel(world: World, peer_id: int) -> bool:
    return peer_id in world.channels


def require_active(world: World, user_id: int) -> User:
    """The caller's own account: a banned account is 401 USER_DEACTIVATED_BAN on every call."""
    user = world.users.get(user_id)
    if user is None or user.deleted:
        raise RpcError(401, "USER_DEACTIVATED")
    if user.banned:
        raise RpcError(401, "USER_DEACTIVATED_BAN")
    return user
