"""Build Telegram TL objects from world data, for one viewer.

Most of a User or Channel depends on who asks: access_hash is per viewer, the phone is only visible to the
user itself and to its contacts, `contact`/`mutual_contact` are relative, and a channel is `left` unless the
viewer is a member.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim.access import media_hash, peer_hash
from tgsim.model import SERVICE_USER_ID

if TYPE_CHECKING:
    from tgsim.model import Channel, Chat, Message
    from tgsim.world import World

ADMIN_RIGHTS = types.ChatAdminRights(
    change_info=True,
    post_messages=True,
    edit_messages=True,
    delete_messages=True,
    ban_users=True,
    invite_users=True,
    pin_messages=True,
    add_admins=True,
    manage_call=True,
    other=True,
)
NO_RIGHTS = types.ChatBannedRights(until_date=None)


def ts(value: int | float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)


def peer(world: World, peer_id: int) -> types.TypePeer:
    if peer_id in world.channels:
        return types.PeerChannel(peer_id)
    if peer_id in world.chats:
        return types.PeerChat(peer_id)
    return types.PeerUser(peer_id)


def status(world: World, user_id: int) -> types.TypeUserStatus:
    user = world.users[user_id]
    if world.net.is_online(user_id):
        return types.UserStatusOnline(expires=ts(time.time() + 300))
    if user.last_seen:
        return types.UserStatusOffline(was_online=ts(user.last_seen))
    return types.UserStatusRecently()


def user(world: World, viewer: int, user_id: int) -> types.User:
    u = world.users[user_id]
    is_self = viewer == user_id
    if u.deleted:
        return types.User(
            id=u.id, deleted=True, access_hash=peer_hash(world, viewer, u.id), is_self=is_self or None
        )
    contact = user_id in world.users[viewer].contacts if viewer in world.users else False
    mutual = contact and viewer in u.contacts
    return types.User(
        id=u.id,
        is_self=is_self or None,
        contact=contact or None,
        mutual_contact=mutual or None,
        access_hash=peer_hash(world, viewer, u.id),
        first_name=(world.users[viewer].contacts.get(user_id) if contact else None) or u.first_name,
        last_name=u.last_name or None,
        username=u.username,
        phone=u.phone if is_self or contact else None,
        status=status(world, user_id),
        restricted=u.banned or None,
        # Telegram's service account shows as verified official support.
        verified=u.id == SERVICE_USER_ID or None,
        support=u.id == SERVICE_USER_ID or None,
    )


def channel(world: World, viewer: int, ch: Channel) -> types.Channel:
    member = ch.members.get(viewer)
    admin = member is not None and member.role in ("creator", "admin")
    return types.Channel(
        id=ch.id,
        title=ch.title,
        photo=types.ChatPhotoEmpty(),
        date=ts(member.date if member else ch.date),
        creator=(member is not None and member.role == "creator") or None,
        left=member is None or None,
        broadcast=ch.broadcast or None,
        megagroup=ch.megagroup or None,
        access_hash=peer_hash(world, viewer, ch.id),
        username=ch.username,
        admin_rights=ADMIN_RIGHTS if admin else None,
        default_banned_rights=NO_RIGHTS if ch.megagroup else None,
        participants_count=len(ch.members),
    )


def channel_forbidden(world: World, viewer: int, ch: Channel) -> types.ChannelForbidden:
    """A channel the viewer may no longer see (kicked, private, or deleted), as Telegram shows it."""
    return types.ChannelForbidden(
        id=ch.id,
        access_hash=peer_hash(world, viewer, ch.id),
        title=ch.title,
        broadcast=ch.broadcast or None,
        megagroup=ch.megagroup or None,
    )


def chat(world: World, viewer: int, group: Chat) -> types.TypeChat:
    """A basic group; someone no longer in it sees chatForbidden, as Telegram shows a left group."""
    member = group.members.get(viewer)
    if member is None:
        return types.ChatForbidden(id=group.id, title=group.title)
    return types.Chat(
        id=group.id,
        title=group.title,
        photo=types.ChatPhotoEmpty(),
        participants_count=len(group.members),
        date=ts(member.date),
        version=1,
        creator=(member.role == "creator") or None,
        admin_rights=ADMIN_RIGHTS if member.role == "admin" else None,
    )


def media(world: World, media_id: int | None) -> types.TypeMessageMedia | None:
    if media_id is None or media_id not in world.media:
        return None
    m = world.media[media_id]
    if m.kind == "photo":
        return types.MessageMediaPhoto(photo=photo(world, media_id))
    return types.MessageMediaDocument(document=document(world, media_id))


def photo(world: World, media_id: int) -> types.Photo:
    m = world.media[media_id]
    return types.Photo(
        id=m.id,
        access_hash=media_hash(world.secret, m.id),
        file_reference=m.file_reference,
        date=ts(m.date),
        sizes=[types.PhotoSize(type="x", w=800, h=600, size=len(m.data))],
        dc_id=world.net.dc_id,
    )


def document(world: World, media_id: int) -> types.Document:
    m = world.media[media_id]
    attributes = list(m.attributes)
    if m.file_name and not any(isinstance(a, types.DocumentAttributeFilename) for a in attributes):
        attributes.append(types.DocumentAttributeFilename(m.file_name))
    return types.Document(
        id=m.id,
        access_hash=media_hash(world.secret, m.id),
        file_reference=m.file_reference,
        date=ts(m.date),
        mime_type=m.mime_type,
        size=len(m.data),
        dc_id=world.net.dc_id,
        attributes=attributes,
    )


def reactions(msg: Message) -> types.MessageReactions | None:
    if not msg.reactions:
        return None
    counts: dict[str, int] = {}
    for emoticon in msg.reactions.values():
        counts[emoticon] = counts.get(emoticon, 0) + 1
    return types.MessageReactions(
        results=[types.ReactionCount(types.ReactionEmoji(e), n) for e, n in counts.items()]
    )


def mentioned(world: World, viewer: int, msg: Message, channel_id: int | None = None) -> bool:
    """Telegram's ``mentioned`` flag, as the viewer gets it: set on someone else's message that mentions the
    viewer (an @username mention or a mention-name entity) *and* on a reply to one of the viewer's own
    messages. Clients show both in the "@" badge, which is why the flag cannot tell a reply from a mention."""
    if msg.from_id == viewer:
        return False
    if msg.reply_to:
        box = world.channels[channel_id].messages if channel_id is not None else world.users[viewer].box
        replied = box.get(msg.reply_to)
        if replied is not None and replied.from_id == viewer:
            return True
    username = (world.users[viewer].username or "").lower()
    units = msg.text.encode("utf-16-le", "surrogatepass")
    for entity in getattr(msg, "entities", ()):
        if isinstance(entity, types.MessageEntityMentionName) and entity.user_id == viewer:
            return True
        if isinstance(entity, types.MessageEntityMention) and username:
            start, end = 2 * entity.offset, 2 * (entity.offset + entity.length)
            said = units[start:end].decode("utf-16-le", "replace")
            if said.lower() == f"@{username}":
                return True
    return False


def message(world: World, viewer: int, msg: Message, channel_id: int | None = None) -> types.Message:
    """A private-box message (owner = viewer) or a channel message (channel_id given).

    Incoming private messages carry no from_id since layer 119 (the peer is the sender); outgoing ones and
    group messages carry it; broadcast posts come "from" the channel.
    """
    fwd = None
    if msg.fwd:
        fwd = types.MessageFwdHeader(date=ts(msg.fwd[1]), from_id=peer(world, msg.fwd[0]))
    reply = types.MessageReplyHeader(reply_to_msg_id=msg.reply_to) if msg.reply_to else None
    common = dict(
        id=msg.id,
        date=ts(msg.date),
        message=msg.text,
        media=media(world, msg.media),
        edit_date=ts(msg.edit_date) if msg.edit_date else None,
        fwd_from=fwd,
        reply_to=reply,
        entities=list(getattr(msg, "entities", ())) or None,  # worlds saved before entities have none
        reactions=reactions(msg),
        mentioned=mentioned(world, viewer, msg, channel_id) or None,
    )
    if channel_id is not None:
        ch = world.channels[channel_id]
        if ch.broadcast:
            return types.Message(
                peer_id=types.PeerChannel(ch.id),
                post=True,
                out=msg.from_id == viewer or None,
                # Telegram sends views and forwards together; Telethon serialises one only with the other.
                views=len(ch.members),
                forwards=0,
                **common,
            )
        return types.Message(
            peer_id=types.PeerChannel(ch.id),
            from_id=types.PeerUser(msg.from_id),
            out=msg.from_id == viewer or None,
            **common,
        )
    if msg.peer in world.chats:  # basic group: the viewer's own copy, always naming the sender
        return types.Message(
            peer_id=types.PeerChat(msg.peer),
            from_id=types.PeerUser(msg.from_id),
            out=msg.out or None,
            **common,
        )
    return types.Message(
        peer_id=types.PeerUser(msg.peer),
        from_id=types.PeerUser(msg.from_id) if msg.out else None,
        out=msg.out or None,
        **common,
    )


def entities(world: World, viewer: int, peer_ids: Iterable[int]) -> tuple[list, list]:
    """(users, chats) TL lists for the given ids (Telegram sends only the peers an answer mentions)."""
    users, chats, seen = [], [], set()
    for pid in peer_ids:
        if pid in seen or pid is None:
            continue
        seen.add(pid)
        if pid in world.channels:
            chats.append(channel(world, viewer, world.channels[pid]))
        elif pid in world.chats:
            chats.append(chat(world, viewer, world.chats[pid]))
        elif pid in world.users:
            users.append(user(world, viewer, pid))
    return users, chats


def message_peers(msg: Message, channel_id: int | None = None) -> list[int]:
    ids = [msg.from_id, msg.peer] if channel_id is None else [channel_id, msg.from_id]
    if msg.fwd:
        ids.append(msg.fwd[0])
    return ids
