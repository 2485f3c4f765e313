"""Reading messages: messages.getHistory, search, getMessages, getDialogs, getPeerDialogs and
channels.getMessages."""

from __future__ import annotations

import bisect
import contextlib

from telethon.tl import functions, types

from tgsim import dialogs, render
from tgsim.access import input_channel, input_peer
from tgsim.handlers.common import me
from tgsim.model import Dialog, Message
from tgsim.rpc import Call, RpcError, bad_request, handles
from tgsim.updates import state

PAGE_MAX = 100  # Telegram never returns more than 100 messages per history request


def _source(call: Call, viewer: int, peer_id: int) -> tuple[list[int], dict[int, Message], int | None]:
    """(ascending ids, id -> message, channel id or None) for a chat as the viewer sees it."""
    world = call.world
    if peer_id in world.channels:
        channel = world.channels[peer_id]
        return list(channel.messages), channel.messages, channel.id
    user = world.users[viewer]
    return user.history.get(peer_id, []), user.box, None


def window(
    ids: list[int],
    msgs: dict[int, Message],
    offset_id: int,
    offset_date: int | None,
    add_offset: int,
    limit: int,
    max_id: int,
    min_id: int,
) -> list[int]:
    """Telegram's history window: newest first, starting below offset_id (or before offset_date),
    shifted by add_offset (negative reaches newer messages), at most ``limit``, within (min_id, max_id)."""
    lo = bisect.bisect_right(ids, min_id) if min_id else 0
    hi = bisect.bisect_left(ids, max_id) if max_id else len(ids)
    sub = ids[lo:hi]
    if offset_id:
        start = len(sub) - bisect.bisect_left(sub, offset_id)
    elif offset_date:
        start = sum(1 for i in sub if msgs[i].date >= offset_date)
    else:
        start = 0
    begin = start + add_offset
    end = begin + max(0, min(limit or PAGE_MAX, PAGE_MAX))
    begin = max(begin, 0)
    if end <= begin:
        return []
    desc = sub[::-1]
    return desc[begin:end]


def messages_result(
    call: Call,
    viewer: int,
    chosen: list[int],
    msgs: dict[int, Message],
    channel_id: int | None,
    total: int,
    complete: bool,
):
    """Wrap messages the way Telegram does: channels -> messages.channelMessages, a private chat that
    fits in one answer -> messages.messages, otherwise messages.messagesSlice with the full count."""
    world = call.world
    tl, peers = [], set()
    for i in chosen:
        msg = msgs[i]
        tl.append(render.message(world, viewer, msg, channel_id))
        peers.update(render.message_peers(msg, channel_id))
    users, chats = render.entities(world, viewer, peers)
    if channel_id is not None:
        return types.messages.ChannelMessages(
            pts=world.channels[channel_id].pts, count=total, messages=tl, topics=[], chats=chats, users=users
        )
    if complete:
        return types.messages.Messages(messages=tl, topics=[], chats=chats, users=users)
    return types.messages.MessagesSlice(count=total, messages=tl, topics=[], chats=chats, users=users)


@handles(functions.messages.GetHistoryRequest)
async def get_history(call: Call, req: functions.messages.GetHistoryRequest):
    """messages.getHistory with offset_id/offset_date/add_offset/limit/max_id/min_id paging."""
    user = me(call)
    peer_id = input_peer(call.world, user.id, req.peer)
    ids, msgs, channel_id = _source(call, user.id, peer_id)
    offset_date = int(req.offset_date.timestamp()) if req.offset_date else None
    chosen = window(ids, msgs, req.offset_id, offset_date, req.add_offset, req.limit, req.max_id, req.min_id)
    complete = len(chosen) == len(ids)
    return messages_result(call, user.id, chosen, msgs, channel_id, len(ids), complete)


_MEDIA_FILTERS = {
    types.InputMessagesFilterPhotos: ("photo",),
    types.InputMessagesFilterDocument: ("document",),
    types.InputMessagesFilterPhotoVideo: ("photo", "document"),
}


@handles(functions.messages.SearchRequest)
async def search(call: Call, req: functions.messages.SearchRequest):
    """messages.search in one chat: case-insensitive substring match, optional media filter, sender
    filter (groups only - Telegram ignores from_id in private chats) and date bounds."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    ids, msgs, channel_id = _source(call, user.id, peer_id)
    q = (req.q or "").casefold()
    kinds = _MEDIA_FILTERS.get(type(req.filter))
    if kinds is None and not isinstance(req.filter, types.InputMessagesFilterEmpty):
        kinds = ()  # unsupported filters (voice, gif, url...) find nothing
    from_id = input_peer(world, user.id, req.from_id) if req.from_id and channel_id else None
    min_date = int(req.min_date.timestamp()) if req.min_date else 0
    max_date = int(req.max_date.timestamp()) if req.max_date else 0

    def keep(i: int) -> bool:
        m = msgs[i]
        if q and q not in m.text.casefold():
            return False
        if kinds is not None and (m.media not in world.media or world.media[m.media].kind not in kinds):
            return False
        if from_id is not None and m.from_id != from_id:
            return False
        return (not min_date or m.date >= min_date) and (not max_date or m.date <= max_date)

    found = [i for i in ids if keep(i)]
    limit = req.limit or PAGE_MAX
    chosen = window(found, msgs, req.offset_id, None, req.add_offset, limit, req.max_id, req.min_id)
    return messages_result(call, user.id, chosen, msgs, channel_id, len(found), len(chosen) == len(found))


def _ids(id_list: list) -> list[int]:
    out = []
    for item in id_list:
        if isinstance(item, int):
            out.append(item)
        elif isinstance(item, types.InputMessageID | types.InputMessageReplyTo):
            out.append(item.id)
    return out


def _by_ids(call: Call, viewer: int, ids: list[int], msgs: dict[int, Message], channel_id: int | None):
    world = call.world
    tl, peers = [], set()
    for i in ids:
        msg = msgs.get(i)
        if msg is None:
            tl.append(types.MessageEmpty(id=i))
            continue
        tl.append(render.message(world, viewer, msg, channel_id))
        peers.update(render.message_peers(msg, channel_id))
    users, chats = render.entities(world, viewer, peers)
    if channel_id is not None:
        return types.messages.ChannelMessages(
            pts=world.channels[channel_id].pts,
            count=len(tl),
            messages=tl,
            topics=[],
            chats=chats,
            users=users,
        )
    return types.messages.Messages(messages=tl, topics=[], chats=chats, users=users)


@handles(functions.messages.GetMessagesRequest)
async def get_messages(call: Call, req: functions.messages.GetMessagesRequest):
    """messages.getMessages by id from the caller's private box; unknown ids come back as messageEmpty."""
    user = me(call)
    return _by_ids(call, user.id, _ids(req.id), user.box, None)


@handles(functions.channels.GetMessagesRequest)
async def get_channel_messages(call: Call, req: functions.channels.GetMessagesRequest):
    """channels.getMessages: CHANNEL_INVALID/CHANNEL_PRIVATE as for any channel access."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel)
    return _by_ids(call, user.id, _ids(req.id), channel.messages, channel.id)


def _dialogs_result(call: Call, viewer: int, peer_ids: list[int]):
    world = call.world
    dlgs, tl_msgs, peers = [], [], set(peer_ids)
    for pid in peer_ids:
        dlgs.append(dialogs.dialog(world, viewer, pid))
        top = dialogs.top_message(world, viewer, pid)
        if top is not None:
            channel_id = pid if pid in world.channels else None
            tl_msgs.append(render.message(world, viewer, top, channel_id))
            peers.update(render.message_peers(top, channel_id))
    users, chats = render.entities(world, viewer, peers)
    return dlgs, tl_msgs, chats, users


@handles(functions.messages.GetDialogsRequest)
async def get_dialogs(call: Call, req: functions.messages.GetDialogsRequest):
    """messages.getDialogs: newest first, paged by (offset_date, offset_id, offset_peer); the answer is
    messages.dialogsSlice with the total count when more remain. Without folder_id every dialog comes,
    archived ones included (their folder_id says 1); folder_id 0 is the main list, 1 the archive, and no
    other peer folder exists (FOLDER_ID_INVALID). tgsim sends no dialogFolder entry for the archive."""
    user = me(call)
    world = call.world
    if req.folder_id not in (None, 0, 1):
        raise bad_request("FOLDER_ID_INVALID")
    rows = dialogs.ordered(world, user.id, req.folder_id)
    start = 0
    offset_peer = None
    if not isinstance(req.offset_peer, types.InputPeerEmpty | type(None)):
        with contextlib.suppress(RpcError):
            offset_peer = input_peer(world, user.id, req.offset_peer)
    offset_date = int(req.offset_date.timestamp()) if req.offset_date else 0
    if offset_peer is not None and any(pid == offset_peer for _, pid in rows):
        start = next(i for i, (_, pid) in enumerate(rows) if pid == offset_peer) + 1
    elif offset_date:
        start = next((i for i, (d, _) in enumerate(rows) if d < offset_date), len(rows))
    limit = max(1, min(req.limit or 100, 100))
    page = [pid for _, pid in rows[start : start + limit]]
    dlgs, msgs, chats, users = _dialogs_result(call, user.id, page)
    if start == 0 and len(page) == len(rows):
        return types.messages.Dialogs(dialogs=dlgs, messages=msgs, chats=chats, users=users)
    return types.messages.DialogsSlice(count=len(rows), dialogs=dlgs, messages=msgs, chats=chats, users=users)


@handles(functions.messages.GetPeerDialogsRequest)
async def get_peer_dialogs(call: Call, req: functions.messages.GetPeerDialogsRequest):
    """messages.getPeerDialogs: the dialogs of the given peers plus the current update state."""
    user = me(call)
    world = call.world
    peer_ids = []
    for p in req.peers:
        if not isinstance(p, types.InputDialogPeer):
            raise bad_request("PEER_ID_INVALID")
        pid = input_peer(world, user.id, p.peer)
        if pid not in world.channels:
            world.users[user.id].dialogs.setdefault(pid, Dialog(peer=pid))
        peer_ids.append(pid)
    dlgs, msgs, chats, users = _dialogs_result(call, user.id, peer_ids)
    return types.messages.PeerDialogs(
        dialogs=dlgs, messages=msgs, chats=chats, users=users, state=state(world, user.id)
    )
