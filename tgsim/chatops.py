"""Private-chat operations shared by the API handlers, the control API (World.say) and personas.

In Telegram a private message exists twice: once in the sender's box and once in the recipient's, each with
the owner's own message id and pts. Edits, deletions with revoke, reads and reactions are mirrored to the
other copy through ``Message.twin`` and bump the other owner's pts too.
"""

from __future__ import annotations

import bisect
import time
from typing import TYPE_CHECKING

from telethon.tl import types

from tgsim import render
from tgsim.model import Dialog, Message, User
from tgsim.rpc import RpcError, bad_request
from tgsim.updates import bump_user, push_user_event, user_update, wrap

if TYPE_CHECKING:
    from tgsim.world import World

DAY = 86_400


def store(user: User, msg: Message) -> None:
    user.box[msg.id] = msg
    user.history.setdefault(msg.peer, []).append(msg.id)
    user.dialogs.setdefault(msg.peer, Dialog(peer=msg.peer))


def unstore(user: User, msg_id: int) -> Message | None:
    msg = user.box.pop(msg_id, None)
    if msg is not None:
        ids = user.history.get(msg.peer, [])
        i = bisect.bisect_left(ids, msg_id)
        if i < len(ids) and ids[i] == msg_id:
            del ids[i]
    return msg


def check_can_message(world: World, sender: User, target: User) -> None:
    """The errors Telegram gives before a DM is delivered.

    Deactivated target -> 400 INPUT_USER_DEACTIVATED; target blocked us -> 400 USER_IS_BLOCKED; target only
    accepts messages from contacts -> 403 USER_PRIVACY_RESTRICTED (today's Telegram may say
    PRIVACY_PREMIUM_REQUIRED for the premium-only variant; Telethon maps only the former to a class); too many
    first-contact DMs a day -> 400 PEER_FLOOD (Telegram's spam limit on cold outreach).
    """
    if target.id == sender.id:
        return
    if target.deleted or target.banned:
        raise bad_request("INPUT_USER_DEACTIVATED")
    if sender.id in target.blocked:
        raise bad_request("USER_IS_BLOCKED")
    first_contact = target.id not in sender.history
    if target.restricted_privacy and first_contact and sender.id not in target.contacts:
        raise RpcError(403, "USER_PRIVACY_RESTRICTED")
    limits = world.net.limits
    if first_contact and limits is not None and limits.enabled:
        now = int(time.time())
        sender.first_contacts = [(d, u) for d, u in sender.first_contacts if d > now - DAY]
        if len(sender.first_contacts) >= limits.peer_flood_new_dms_per_day:
            raise bad_request("PEER_FLOOD")
        sender.first_contacts.append((now, target.id))


def send(
    world: World,
    sender_id: int,
    target_id: int,
    text: str,
    *,
    media: int | None = None,
    reply_to: int | None = None,
    fwd: tuple[int, int] | None = None,
    entities: tuple = (),
    exclude: object = None,
) -> tuple[Message, int]:
    """Store both copies, bump both pts, push to the recipient and the sender's other sessions.

    Returns the sender's copy and the sender's new pts; ``exclude`` is the sending session, which gets the
    message as its RPC result instead.
    """
    sender, target = world.users[sender_id], world.users[target_id]
    now = int(time.time())
    out = Message(
        id=sender.next_msg_id,
        peer=target_id,
        from_id=sender_id,
        out=True,
        date=now,
        text=text,
        media=media,
        reply_to=reply_to,
        fwd=fwd,
        entities=entities,
    )
    sender.next_msg_id += 1
    store(sender, out)
    pts = bump_user(world, sender_id, "new", out.id)
    if target_id != sender_id:
        their_reply = None
        if reply_to and reply_to in sender.box and sender.box[reply_to].twin:
            their_reply = sender.box[reply_to].twin[1]
        inc = Message(
            id=target.next_msg_id,
            peer=sender_id,
            from_id=sender_id,
            out=False,
            date=now,
            text=text,
            media=media,
            reply_to=their_reply,
            fwd=fwd,
            entities=entities,
            twin=(sender_id, out.id),
        )
        target.next_msg_id += 1
        out.twin = (target_id, inc.id)
        store(target, inc)
        bump_user(world, target_id, "new", inc.id)
        push_user_event(world, target_id, target.events[-1])
        world.users[sender_id].last_seen = now
    push_user_event(world, sender_id, sender.events[-1], exclude=exclude)
    if target_id != sender_id:
        world.personas.on_message(target_id, sender_id)
    return out, pts


def edit(world: World, user_id: int, msg_id: int, text: str, *, exclude: object = None) -> types.Updates:
    """messages.editMessage in a private chat or basic group: only the author edits
    (MESSAGE_AUTHOR_REQUIRED), an unchanged text is 400 MESSAGE_NOT_MODIFIED; every copy changes and every
    owner gets updateEditMessage with its own id and pts."""
    user = world.users[user_id]
    msg = user.box.get(msg_id)
    if msg is None:
        raise bad_request("MESSAGE_ID_INVALID")
    if not msg.out:
        raise RpcError(403, "MESSAGE_AUTHOR_REQUIRED")
    if msg.text == text:
        raise bad_request("MESSAGE_NOT_MODIFIED")
    now = int(time.time())
    msg.text, msg.edit_date = text, now
    bump_user(world, user_id, "edit", msg_id)
    event = user.events[-1]
    push_user_event(world, user_id, event, exclude=exclude)
    for owner, copy_id in msg.others(user_id):
        copy = world.users[owner].box.get(copy_id)
        if copy is not None:
            copy.text, copy.edit_date = text, now
            bump_user(world, owner, "edit", copy_id)
            push_user_event(world, owner, world.users[owner].events[-1])
    return wrap(world, user_id, [user_update(world, user_id, event)], render.message_peers(msg))


def _may_revoke(world: World, user_id: int, msg: Message) -> bool:
    # Private chats let either side delete for both; in a basic group only the author or an admin may.
    group = world.chats.get(msg.peer)
    return group is None or msg.out or group.is_admin(user_id)


def delete(world: World, user_id: int, ids: list[int], revoke: bool, *, exclude: object = None):
    """messages.deleteMessages: ids not in the caller's box are ignored; with revoke the other copies go
    too (updateDeleteMessages with each owner's ids and pts)."""
    user = world.users[user_id]
    removed = [m for m in (unstore(user, i) for i in ids) if m is not None]
    if not removed:
        return types.messages.AffectedMessages(pts=user.pts, pts_count=0)
    pts = bump_user(world, user_id, "delete", [m.id for m in removed], len(removed))
    push_user_event(world, user_id, user.events[-1], exclude=exclude)
    if revoke:
        by_owner: dict[int, list[int]] = {}
        for m in removed:
            if _may_revoke(world, user_id, m):
                for owner, copy_id in m.others(user_id):
                    by_owner.setdefault(owner, []).append(copy_id)
        for owner, copy_ids in by_owner.items():
            other = world.users[owner]
            gone = [i for i in copy_ids if unstore(other, i) is not None]
            if gone:
                bump_user(world, owner, "delete", gone, len(gone))
                push_user_event(world, owner, other.events[-1])
    return types.messages.AffectedMessages(pts=pts, pts_count=len(removed))


def read(world: World, reader_id: int, peer_id: int, max_id: int, *, exclude: object = None):
    """messages.readHistory: the reader's read_inbox_max_id moves up, and the senders of the newly read
    messages learn it through updateReadHistoryOutbox with the max id *in their own box* (ids differ
    between copies)."""
    reader = world.users[reader_id]
    ids = reader.history.get(peer_id, [])
    dialog = reader.dialogs.get(peer_id)
    if not ids or dialog is None:
        return types.messages.AffectedMessages(pts=reader.pts, pts_count=0)
    if max_id <= 0 or max_id > ids[-1]:
        max_id = ids[-1]
    before = dialog.read_inbox_max_id
    if max_id <= before:
        return types.messages.AffectedMessages(pts=reader.pts, pts_count=0)
    dialog.read_inbox_max_id = max_id
    pts = bump_user(world, reader_id, "read_in", (peer_id, max_id))
    push_user_event(world, reader_id, reader.events[-1], exclude=exclude)
    newest_read: dict[int, int] = {}  # sender -> highest newly read message id in the sender's box
    for i in ids[bisect.bisect_right(ids, before) : bisect.bisect_right(ids, max_id)]:
        msg = reader.box[i]
        for owner, copy_id in [] if msg.out else msg.others(reader_id):
            if owner == msg.from_id:
                newest_read[owner] = max(newest_read.get(owner, 0), copy_id)
    key = peer_id if peer_id in world.chats else reader_id  # how the sender's box names this chat
    for owner, their_max in newest_read.items():
        other = world.users[owner]
        their_dialog = other.dialogs.setdefault(key, Dialog(peer=key))
        if their_max > their_dialog.read_outbox_max_id:
            their_dialog.read_outbox_max_id = their_max
            bump_user(world, owner, "read_out", (key, their_max))
            push_user_event(world, owner, other.events[-1])
    return types.messages.AffectedMessages(pts=pts, pts_count=1)


def react(world: World, user_id: int, msg_id: int, emoticon: str | None, *, exclude: object = None):
    """messages.sendReaction in a private chat or basic group: every copy carries the reaction and every
    owner gets updateMessageReactions (no pts - reactions are not in the pts sequence)."""
    user = world.users[user_id]
    msg = user.box.get(msg_id)
    if msg is None:
        raise bad_request("MESSAGE_ID_INVALID")
    copies = [(user_id, msg)]
    for owner, copy_id in msg.others(user_id):
        if copy_id in world.users[owner].box:
            copies.append((owner, world.users[owner].box[copy_id]))
    result = None
    for owner, copy in copies:
        if emoticon:
            copy.reactions[user_id] = emoticon
        else:
            copy.reactions.pop(user_id, None)
        update = types.UpdateMessageReactions(
            peer=render.peer(world, copy.peer),
            msg_id=copy.id,
            reactions=render.reactions(copy) or types.MessageReactions(results=[]),
        )
        updates = wrap(world, owner, [update], [copy.peer])
        if owner == user_id:
            result = updates
            world.net.push(owner, updates, exclude=exclude)
        else:
            world.net.push(owner, updates)
    return result
