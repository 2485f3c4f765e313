"""pts logs, live pushes and getDifference / getChannelDifference.

Telegram orders message-related events with a persistent timestamp (pts): one sequence per user for private
chats, one per channel. Every event bumps the sequence by its pts_count and is logged, so a client that
missed pushes asks for the difference since its last pts. Telethon's MessageBox applies a pushed update only
if local_pts + pts_count == pts, so every push here carries exactly the pts the log assigned, and pushes for
one account leave in pts order (handlers never await between logging and pushing).

We always push ``seq = 0`` ("doesn't matter" in Telegram's words): the combined seq is optional and
Telethon only checks it when non-zero.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim import render
from tgsim.rpc import bad_request

if TYPE_CHECKING:
    from tgsim.model import Channel, Event
    from tgsim.world import World

# Telegram caps one getDifference answer and says "differenceSlice, ask again" past it.
DIFF_SLICE = 100
# Further behind than this and the client must refetch dialogs instead (differenceTooLong).
TOO_LONG = 100_000
CHANNEL_TOO_LONG = 100_000


def bump_user(world: World, user_id: int, kind: str, data: object, count: int = 1) -> int:
    user = world.users[user_id]
    user.pts += count
    user.events.append((user.pts, count, kind, data))
    return user.pts


def bump_channel(channel: Channel, kind: str, data: object, count: int = 1) -> int:
    channel.pts += count
    channel.events.append((channel.pts, count, kind, data))
    return channel.pts


def wrap(world: World, viewer: int, updates: list, peer_ids: Iterable[int]) -> types.Updates:
    users, chats = render.entities(world, viewer, peer_ids)
    return types.Updates(updates=updates, users=users, chats=chats, date=render.ts(time.time()), seq=0)


def user_update(world: World, owner: int, event: Event) -> types.TypeUpdate | None:
    """The update one private-box event stands for, as the box owner sees it (None if since deleted)."""
    pts, count, kind, data = event
    user = world.users[owner]
    if kind in ("new", "edit"):
        msg = user.box.get(data)
        if msg is None:
            return None
        tl = render.message(world, owner, msg)
        cls = types.UpdateNewMessage if kind == "new" else types.UpdateEditMessage
        return cls(message=tl, pts=pts, pts_count=count)
    if kind == "delete":
        return types.UpdateDeleteMessages(messages=list(data), pts=pts, pts_count=count)
    if kind == "read_in":
        peer_id, max_id = data
        return types.UpdateReadHistoryInbox(
            peer=render.peer(world, peer_id), max_id=max_id, still_unread_count=0, pts=pts, pts_count=count
        )
    if kind == "read_out":
        peer_id, max_id = data
        return types.UpdateReadHistoryOutbox(
            peer=render.peer(world, peer_id), max_id=max_id, pts=pts, pts_count=count
        )
    if kind == "folder":
        moved = [types.FolderPeer(peer=render.peer(world, peer_id), folder_id=f) for peer_id, f in data]
        return types.UpdateFolderPeers(folder_peers=moved, pts=pts, pts_count=count)
    return None


def channel_update(world: World, viewer: int, channel: Channel, event: Event) -> types.TypeUpdate | None:
    pts, count, kind, data = event
    if kind in ("new", "edit"):
        msg = channel.messages.get(data)
        if msg is None:
            return None
        tl = render.message(world, viewer, msg, channel.id)
        cls = types.UpdateNewChannelMessage if kind == "new" else types.UpdateEditChannelMessage
        return cls(message=tl, pts=pts, pts_count=count)
    if kind == "delete":
        return types.UpdateDeleteChannelMessages(
            channel_id=channel.id, messages=list(data), pts=pts, pts_count=count
        )
    return None


def push_user_event(world: World, owner: int, event: Event, *, exclude: object = None) -> None:
    """Deliver one private-box event to every live session of its owner."""
    if not world.net.is_online(owner):
        return
    update = user_update(world, owner, event)
    if update is None:
        return
    msg = getattr(update, "message", None)
    peers: list[int] = []
    if msg is not None:
        peers = render.message_peers(world.users[owner].box[msg.id])
    elif hasattr(update, "peer"):
        peers = [_peer_id(update.peer)]
    world.net.push(owner, wrap(world, owner, [update], peers), exclude=exclude)


def push_channel_event(world: World, channel: Channel, event: Event, *, exclude: tuple | None = None) -> None:
    """Deliver one channel event to every online member; ``exclude`` = (user id, session) skips the
    session that made the change (it gets the same update as its RPC result)."""
    for uid in [uid for uid in channel.members if world.net.is_online(uid)]:
        update = channel_update(world, uid, channel, event)
        if update is None:
            return
        peers = [channel.id]
        if isinstance(update, types.UpdateNewChannelMessage | types.UpdateEditChannelMessage):
            peers.append(update.message.from_id.user_id if update.message.from_id else channel.id)
        skip = exclude[1] if exclude and exclude[0] == uid else None
        world.net.push(uid, wrap(world, uid, [update], peers), exclude=skip)


def _peer_id(peer: types.TypePeer) -> int:
    return getattr(peer, "user_id", None) or getattr(peer, "channel_id", None) or getattr(peer, "chat_id", 0)


def state(world: World, user_id: int, pts: int | None = None, date: int | None = None) -> types.updates.State:
    user = world.users[user_id]
    return types.updates.State(
        pts=user.pts if pts is None else pts,
        qts=0,
        date=render.ts(date if date is not None else time.time()),
        seq=0,
        unread_count=0,
    )


def difference(world: World, user_id: int, pts: int, date: int) -> types.updates.TypeDifference:
    """updates.getDifference: everything in the user's pts log after ``pts``, in slices of DIFF_SLICE.

    Channels are not in the account log; for every channel with activity after ``date`` we add
    updateChannelTooLong so the client fetches getChannelDifference for it, as Telegram does.
    """
    user = world.users[user_id]
    now = int(time.time())
    if pts > user.pts or user.pts - pts > TOO_LONG:
        return types.updates.DifferenceTooLong(pts=user.pts)
    start = bisect.bisect_right(user.events, pts, key=lambda e: e[0])
    pending = user.events[start:]
    sliced = len(pending) > DIFF_SLICE
    taken = pending[:DIFF_SLICE]
    channel_ids = [] if sliced else [c for c in user.channels if world.channels[c].last_activity >= date]
    if not taken and not channel_ids:
        return types.updates.DifferenceEmpty(date=render.ts(now), seq=0)
    new_messages, other, peers = [], [], set()
    for event in taken:
        update = user_update(world, user_id, event)
        if update is None:
            continue
        if isinstance(update, types.UpdateNewMessage):
            new_messages.append(update.message)
            peers.update(render.message_peers(user.box[update.message.id]))
        else:
            other.append(update)
            if hasattr(update, "peer"):
                peers.add(_peer_id(update.peer))
    for cid in channel_ids:
        other.append(types.UpdateChannelTooLong(channel_id=cid, pts=world.channels[cid].pts))
        peers.add(cid)
    users, chats = render.entities(world, user_id, peers)
    new_pts = taken[-1][0] if taken else pts
    if sliced:
        # Keep the caller's date so the final slice still reports channels active since then.
        return types.updates.DifferenceSlice(
            new_messages=new_messages,
            new_encrypted_messages=[],
            other_updates=other,
            chats=chats,
            users=users,
            intermediate_state=state(world, user_id, new_pts, date),
        )
    return types.updates.Difference(
        new_messages=new_messages,
        new_encrypted_messages=[],
        other_updates=other,
        chats=chats,
        users=users,
        state=state(world, user_id, new_pts, now),
    )


def channel_difference(
    world: World, viewer: int, channel: Channel, pts: int, limit: int
) -> types.updates.TypeChannelDifference:
    """updates.getChannelDifference: the channel's events after ``pts``, at most ``limit`` at a time."""
    if pts <= 0:
        raise bad_request("PERSISTENT_TIMESTAMP_EMPTY")
    if pts >= channel.pts:
        return types.updates.ChannelDifferenceEmpty(pts=channel.pts, final=True, timeout=30)
    if channel.pts - pts > CHANNEL_TOO_LONG:
        from tgsim.dialogs import channel_dialog

        last = sorted(channel.messages)[-limit:]
        msgs = [render.message(world, viewer, channel.messages[i], channel.id) for i in last]
        users, chats = render.entities(
            world, viewer, [channel.id, *(channel.messages[i].from_id for i in last)]
        )
        return types.updates.ChannelDifferenceTooLong(
            dialog=channel_dialog(world, viewer, channel), messages=msgs, chats=chats, users=users, final=True
        )
    start = bisect.bisect_right(channel.events, pts, key=lambda e: e[0])
    pending = channel.events[start:]
    taken = pending[: max(1, limit)]
    new_messages, other, peers = [], [], {channel.id}
    for event in taken:
        update = channel_update(world, viewer, channel, event)
        if update is None:
            continue
        if isinstance(update, types.UpdateNewChannelMessage):
            new_messages.append(update.message)
            peers.add(channel.messages[update.message.id].from_id)
        else:
            other.append(update)
    users, chats = render.entities(world, viewer, peers)
    return types.updates.ChannelDifference(
        pts=taken[-1][0],
        new_messages=new_messages,
        other_updates=other,
        chats=chats,
        users=users,
        final=len(taken) == len(pending),
        timeout=30,
    )
