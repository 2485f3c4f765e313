"""Dialog lists and read state, as each user sees them."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim import render
from tgsim.model import Dialog
from tgsim.rpc import bad_request

if TYPE_CHECKING:
    from tgsim.model import Channel, Message
    from tgsim.world import World

NOTIFY = types.PeerNotifySettings(show_previews=True, silent=False)


def private_unread(world: World, viewer: int, peer_id: int) -> int:
    user = world.users[viewer]
    ids = user.history.get(peer_id, [])
    dialog = user.dialogs.get(peer_id)
    read = dialog.read_inbox_max_id if dialog else 0
    start = bisect.bisect_right(ids, read)
    return sum(1 for i in ids[start:] if not user.box[i].out)


def channel_unread(channel: Channel, viewer: int) -> int:
    read = channel.read_inbox.get(viewer, 0)
    return sum(1 for i in channel.messages if i > read and channel.messages[i].from_id != viewer)


def top_message(world: World, viewer: int, peer_id: int) -> Message | None:
    if peer_id in world.channels:
        channel = world.channels[peer_id]
        return channel.messages[max(channel.messages)] if channel.messages else None
    ids = world.users[viewer].history.get(peer_id)
    return world.users[viewer].box[ids[-1]] if ids else None


def private_dialog(world: World, viewer: int, peer_id: int) -> types.Dialog:
    user = world.users[viewer]
    dialog = user.dialogs[peer_id]
    top = top_message(world, viewer, peer_id)
    return types.Dialog(
        peer=render.peer(world, peer_id),
        top_message=top.id if top else 0,
        read_inbox_max_id=dialog.read_inbox_max_id,
        read_outbox_max_id=dialog.read_outbox_max_id,
        unread_count=private_unread(world, viewer, peer_id),
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=NOTIFY,
        pinned=dialog.pinned or None,
        folder_id=dialog.folder_id or None,
    )


def channel_dialog(world: World, viewer: int, channel: Channel) -> types.Dialog:
    top = top_message(world, viewer, channel.id)
    member = channel.members.get(viewer)
    return types.Dialog(
        peer=types.PeerChannel(channel.id),
        top_message=top.id if top else 0,
        read_inbox_max_id=channel.read_inbox.get(viewer, 0),
        read_outbox_max_id=channel.read_outbox_max_id,
        unread_count=channel_unread(channel, viewer),
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=NOTIFY,
        pts=channel.pts,
        folder_id=(member.folder_id if member else 0) or None,
    )


def dialog(world: World, viewer: int, peer_id: int) -> types.Dialog:
    if peer_id in world.channels:
        return channel_dialog(world, viewer, world.channels[peer_id])
    return private_dialog(world, viewer, peer_id)


def ordered(world: World, viewer: int, folder_id: int | None = None) -> list[tuple[int, int]]:
    """(date of top message, peer id) for every dialog, newest first, as messages.getDialogs orders them;
    only those of one peer folder when ``folder_id`` is given (0 the main list, 1 the archive)."""
    user = world.users[viewer]
    rows = []
    for peer_id, dialog in user.dialogs.items():
        if folder_id is None or dialog.folder_id == folder_id:
            top = top_message(world, viewer, peer_id)
            rows.append((top.date if top else 0, peer_id))
    for cid in user.channels:
        channel = world.channels[cid]
        member = channel.members[viewer]
        if folder_id is None or member.folder_id == folder_id:
            top = top_message(world, viewer, cid)
            rows.append((top.date if top else member.date, cid))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return rows


def set_folder(world: World, viewer: int, peer_id: int, folder_id: int) -> None:
    """Move one of the viewer's chats into a peer folder (1 archives it, 0 brings it back). A channel the
    viewer is not in has no dialog to move (PEER_ID_INVALID, as Telegram answers)."""
    if peer_id in world.channels:
        member = world.channels[peer_id].members.get(viewer)
        if member is None:
            raise bad_request("PEER_ID_INVALID")
        member.folder_id = folder_id
        return
    world.users[viewer].dialogs.setdefault(peer_id, Dialog(peer=peer_id)).folder_id = folder_id


def read_state(world: World, viewer: int, peer_id: int) -> dict:
    """read_inbox_max_id / read_outbox_max_id / unread_count of one dialog, for the control API."""
    if peer_id in world.channels:
        channel = world.channels[peer_id]
        return {
            "read_inbox_max_id": channel.read_inbox.get(viewer, 0),
            "read_outbox_max_id": channel.read_outbox_max_id,
            "unread_count": channel_unread(channel, viewer),
        }
    dialog = world.users[viewer].dialogs.get(peer_id)
    return {
        "read_inbox_max_id": dialog.read_inbox_max_id if dialog else 0,
        "read_outbox_max_id": dialog.read_outbox_max_id if dialog else 0,
        "unread_count": private_unread(world, viewer, peer_id),
    }
