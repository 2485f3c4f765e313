"""Supergroup and broadcast-channel operations shared by handlers, the control API and personas.

A channel has one message sequence and one pts shared by all members; new messages, edits and deletions
bump it and are pushed as updateNewChannelMessage / updateEditChannelMessage / updateDeleteChannelMessages
to every online member.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim import render
from tgsim.model import Channel, Member, Message
from tgsim.rpc import RpcError, bad_request
from tgsim.updates import bump_channel, channel_update, push_channel_event, wrap

if TYPE_CHECKING:
    from tgsim.world import World


def join(
    world: World,
    channel: Channel,
    user_id: int,
    *,
    role: str = "member",
    inviter: int | None = None,
    date: int | None = None,
) -> bool:
    """Add a member (False if already in). Kicked users stay out until unbanned."""
    if user_id in channel.members:
        return False
    channel.members[user_id] = Member(
        user_id=user_id, date=date or int(time.time()), role=role, inviter_id=inviter
    )
    world.users[user_id].channels.add(channel.id)
    # Telegram starts a new member's unread counter at the current top message.
    channel.read_inbox[user_id] = max(channel.messages, default=0)
    return True


def leave(world: World, channel: Channel, user_id: int) -> bool:
    if channel.members.pop(user_id, None) is None:
        return False
    world.users[user_id].channels.discard(channel.id)
    channel.read_inbox.pop(user_id, None)
    return True


def remove(world: World, channel: Channel) -> list[int]:
    """Remove the channel from the world with its username and invite link; returns who was in it."""
    members = list(channel.members)
    for uid in members:
        world.users[uid].channels.discard(channel.id)
    del world.channels[channel.id]
    if channel.username:
        world.usernames.pop(channel.username.lower(), None)
    if channel.invite_hash:
        world.invites.pop(channel.invite_hash, None)
    return members


def check_can_post(channel: Channel, user_id: int) -> None:
    """Only members write to a supergroup and only admins post to a broadcast channel
    (403 CHAT_WRITE_FORBIDDEN / 403 CHAT_ADMIN_REQUIRED)."""
    if user_id not in channel.members:
        raise RpcError(403, "CHAT_WRITE_FORBIDDEN")
    if channel.broadcast and not channel.is_admin(user_id):
        raise RpcError(403, "CHAT_ADMIN_REQUIRED")


def post(
    world: World,
    channel: Channel,
    from_id: int,
    text: str,
    *,
    media: int | None = None,
    reply_to: int | None = None,
    fwd: tuple[int, int] | None = None,
    entities: tuple = (),
    exclude: object = None,
) -> tuple[Message, int]:
    """Append a message to the channel, bump its pts and push it to online members."""
    now = int(time.time())
    msg = Message(
        id=channel.next_msg_id,
        peer=channel.id,
        from_id=from_id,
        out=False,
        date=now,
        text=text,
        media=media,
        reply_to=reply_to,
        fwd=fwd,
        entities=entities,
    )
    channel.next_msg_id += 1
    channel.messages[msg.id] = msg
    channel.last_activity = now
    channel.read_inbox[from_id] = msg.id  # your own message never counts as unread
    pts = bump_channel(channel, "new", msg.id)
    push_channel_event(world, channel, channel.events[-1], exclude=(from_id, exclude))
    world.users[from_id].last_seen = now
    return msg, pts


def result_updates(world: World, viewer: int, channel: Channel, event, extra: list | None = None):
    """The Updates the acting session gets back for a channel event (its own copy of the push)."""
    update = channel_update(world, viewer, channel, event)
    peers = [channel.id]
    if getattr(update, "message", None) is not None and update.message.from_id:
        peers.append(update.message.from_id.user_id)
    return wrap(world, viewer, [*(extra or []), update], peers)


def edit(world: World, channel: Channel, user_id: int, msg_id: int, text: str, *, exclude: object = None):
    """Only the author edits a supergroup message; broadcast admins may edit posts."""
    msg = channel.messages.get(msg_id)
    if msg is None:
        raise bad_request("MESSAGE_ID_INVALID")
    if msg.from_id != user_id and not (channel.broadcast and channel.is_admin(user_id)):
        raise RpcError(403, "MESSAGE_AUTHOR_REQUIRED")
    if msg.text == text:
        raise bad_request("MESSAGE_NOT_MODIFIED")
    msg.text, msg.edit_date = text, int(time.time())
    bump_channel(channel, "edit", msg_id)
    event = channel.events[-1]
    push_channel_event(world, channel, event, exclude=(user_id, exclude))
    return result_updates(world, user_id, channel, event)


def delete(world: World, channel: Channel, user_id: int, ids: list[int], *, exclude: object = None):
    """channels.deleteMessages: authors delete their own, admins anyone's (403 MESSAGE_DELETE_FORBIDDEN)."""
    mine = []
    for i in ids:
        msg = channel.messages.get(i)
        if msg is None:
            continue
        if msg.from_id != user_id and not channel.is_admin(user_id):
            raise RpcError(403, "MESSAGE_DELETE_FORBIDDEN")
        mine.append(i)
    if not mine:
        return types.messages.AffectedMessages(pts=channel.pts, pts_count=0)
    for i in mine:
        del channel.messages[i]
    pts = bump_channel(channel, "delete", mine, len(mine))
    push_channel_event(world, channel, channel.events[-1], exclude=(user_id, exclude))
    return types.messages.AffectedMessages(pts=pts, pts_count=len(mine))


def read(world: World, channel: Channel, user_id: int, max_id: int, *, exclude: object = None) -> bool:
    """channels.readHistory: moves the member's read_inbox_max_id; the reader's other sessions get
    updateReadChannelInbox (pts_count 0, current channel pts). In a supergroup the authors of the newly
    read messages get updateReadChannelOutbox, as Telegram reports "seen" for group messages."""
    top = max(channel.messages, default=0)
    if max_id <= 0 or max_id > top:
        max_id = top
    before = channel.read_inbox.get(user_id, 0)
    if max_id <= before:
        return True
    channel.read_inbox[user_id] = max_id
    still = sum(1 for i, m in channel.messages.items() if i > max_id and m.from_id != user_id)
    update = types.UpdateReadChannelInbox(
        channel_id=channel.id, max_id=max_id, still_unread_count=still, pts=channel.pts
    )
    world.net.push(user_id, wrap(world, user_id, [update], [channel.id]), exclude=exclude)
    if max_id > channel.read_outbox_max_id:
        authors = {m.from_id for i, m in channel.messages.items() if before < i <= max_id} - {user_id}
        channel.read_outbox_max_id = max_id
        if channel.megagroup:
            outbox = types.UpdateReadChannelOutbox(channel_id=channel.id, max_id=max_id)
            for author in authors:
                if world.net.is_online(author):
                    world.net.push(author, wrap(world, author, [outbox], [channel.id]))
    return True


def recent(channel: Channel) -> list[Member]:
    """Members newest first, the order of ChannelParticipantsRecent."""
    return list(reversed(channel.members.values()))


def admins(channel: Channel) -> list[Member]:
    return [m for m in channel.members.values() if m.role in ("creator", "admin")]


def search(world: World, channel: Channel, q: str) -> list[Member]:
    """ChannelParticipantsSearch: a word of the name or the username starts with q (case-insensitive)."""
    q = q.casefold().strip()
    if not q:
        return recent(channel)
    found = []
    for member in recent(channel):
        u = world.users[member.user_id]
        words = f"{u.first_name} {u.last_name}".casefold().split()
        if any(w.startswith(q) for w in words) or (u.username or "").casefold().startswith(q):
            found.append(member)
    return found


def participant(member: Member, viewer: int) -> types.TypeChannelParticipant:
    date = render.ts(member.date)
    if member.role == "creator":
        return types.ChannelParticipantCreator(user_id=member.user_id, admin_rights=render.ADMIN_RIGHTS)
    if member.role == "admin":
        promoted_by = member.inviter_id or member.user_id
        is_self = member.user_id == viewer
        # The TL flag pairs is_self with inviter_id: both present (for the viewer) or neither.
        return types.ChannelParticipantAdmin(
            user_id=member.user_id,
            promoted_by=promoted_by,
            date=date,
            admin_rights=render.ADMIN_RIGHTS,
            is_self=is_self or None,
            inviter_id=promoted_by if is_self else None,
        )
    if member.user_id == viewer:
        return types.ChannelParticipantSelf(
            user_id=member.user_id, inviter_id=member.inviter_id or member.user_id, date=date
        )
    return types.ChannelParticipant(user_id=member.user_id, date=date)
