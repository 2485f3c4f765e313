"""Basic groups (Telegram's small "chat" groups).

Unlike supergroups they have no shared history: a message is copied into every member's private box with
that member's own id and pts, so reads, edits and deletions travel through the same per-user pts sequence
as private chats (see chatops). All copies of one message share a ``copies`` list.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tgsim.chatops import store
from tgsim.model import Chat, Member, Message
from tgsim.updates import bump_user, push_user_event

if TYPE_CHECKING:
    from tgsim.world import World


def create(world: World, title: str, creator: int, members: list[int]) -> Chat:
    now = int(time.time())
    group = Chat(id=world._new_id(), title=title, creator=creator, date=now)
    world.chats[group.id] = group
    group.members[creator] = Member(user_id=creator, date=now, role="creator")
    for uid in members:
        add(world, group, uid, inviter=creator)
    return group


def add(world: World, group: Chat, user_id: int, *, inviter: int | None = None, role: str = "member") -> bool:
    if user_id in group.members:
        return False
    group.members[user_id] = Member(user_id=user_id, date=int(time.time()), role=role, inviter_id=inviter)
    return True


def remove(world: World, group: Chat, user_id: int) -> bool:
    """The member leaves; their copies of past messages stay in their box (Telegram keeps the history of a
    group you left until you delete it)."""
    return group.members.pop(user_id, None) is not None


def post(
    world: World,
    group: Chat,
    sender_id: int,
    text: str,
    *,
    media: int | None = None,
    reply_to: int | None = None,
    fwd: tuple[int, int] | None = None,
    entities: tuple = (),
    exclude: object = None,
) -> tuple[Message, int]:
    """Copy the message into every member's box, bump each member's pts and push to each. Returns the
    sender's copy and the sender's new pts (its RPC result; ``exclude`` is the sending session)."""
    if sender_id not in group.members:
        raise ValueError(f"user {sender_id} is not in chat {group.id}")
    now = int(time.time())
    copies: list[tuple[int, int]] = []
    replied = world.users[sender_id].box.get(reply_to) if reply_to else None
    reply_ids = dict(replied.copies or []) if replied is not None else {}
    mine, pts = None, 0
    for uid in group.members:
        owner = world.users[uid]
        msg = Message(
            id=owner.next_msg_id,
            peer=group.id,
            from_id=sender_id,
            out=uid == sender_id,
            date=now,
            text=text,
            media=media,
            reply_to=reply_ids.get(uid),
            fwd=fwd,
            entities=entities,
            copies=copies,
        )
        owner.next_msg_id += 1
        copies.append((uid, msg.id))
        store(owner, msg)
        new_pts = bump_user(world, uid, "new", msg.id)
        push_user_event(world, uid, owner.events[-1], exclude=exclude if uid == sender_id else None)
        if uid == sender_id:
            mine, pts = msg, new_pts
            owner.dialogs[group.id].read_inbox_max_id = msg.id  # your own message is never unread
    world.users[sender_id].last_seen = now
    return mine, pts  # type: ignore[return-value]  (the sender is a member, so mine is set)
