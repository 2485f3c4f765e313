"""Basic groups: messages.createChat / getFullChat / getChats / addChatUser / deleteChatUser. Sending,
reading and editing in them go through the ordinary messages.* handlers with an InputPeerChat."""

from __future__ import annotations

import time

from telethon.tl import functions, types

from tgsim import groupops, render
from tgsim.access import input_chat, input_user
from tgsim.dialogs import NOTIFY
from tgsim.handlers.common import me
from tgsim.model import Chat, Member, User
from tgsim.rpc import Call, RpcError, bad_request, handles


def _updates(call: Call, viewer: int, group: Chat, user_ids: list[int]) -> types.Updates:
    users, chats = render.entities(call.world, viewer, [group.id, *user_ids])
    return types.Updates(updates=[], users=users, chats=chats, date=render.ts(time.time()), seq=0)


def _invite(call: Call, inviter: User, group: Chat, target: User, missing: list) -> bool:
    """Add one user, or record them as a missing invitee when their privacy forbids it (Telegram's
    answer since layer 166 instead of USER_PRIVACY_RESTRICTED)."""
    if target.deleted or target.banned:
        raise bad_request("INPUT_USER_DEACTIVATED")
    if target.restricted_privacy and inviter.id not in target.contacts:
        missing.append(types.MissingInvitee(user_id=target.id))
        return False
    return groupops.add(call.world, group, target.id, inviter=inviter.id)


@handles(functions.messages.CreateChatRequest)
async def create_chat(call: Call, req: functions.messages.CreateChatRequest):
    """messages.createChat: a basic group with the caller as creator (CHAT_TITLE_EMPTY for a blank
    title); users whose privacy forbids it come back in missing_invitees."""
    user = me(call)
    title = (req.title or "").strip()
    if not title:
        raise bad_request("CHAT_TITLE_EMPTY")
    group = groupops.create(call.world, title, user.id, [])
    missing: list = []
    added = [
        t.id
        for t in (input_user(call.world, user.id, u) for u in req.users)
        if _invite(call, user, group, t, missing)
    ]
    return types.messages.InvitedUsers(
        updates=_updates(call, user.id, group, added), missing_invitees=missing
    )


@handles(functions.messages.AddChatUserRequest)
async def add_chat_user(call: Call, req: functions.messages.AddChatUserRequest):
    """messages.addChatUser: USER_ALREADY_PARTICIPANT for a member; privacy refusals in
    missing_invitees."""
    user = me(call)
    group = input_chat(call.world, user.id, req.chat_id)
    target = input_user(call.world, user.id, req.user_id)
    if target.id in group.members:
        raise bad_request("USER_ALREADY_PARTICIPANT")
    missing: list = []
    added = [target.id] if _invite(call, user, group, target, missing) else []
    return types.messages.InvitedUsers(
        updates=_updates(call, user.id, group, added), missing_invitees=missing
    )


@handles(functions.messages.DeleteChatUserRequest)
async def delete_chat_user(call: Call, req: functions.messages.DeleteChatUserRequest) -> types.Updates:
    """messages.deleteChatUser: anyone may leave (InputUserSelf); removing others needs the creator or an
    admin (CHAT_ADMIN_REQUIRED); USER_NOT_PARTICIPANT if they aren't in it."""
    user = me(call)
    group = input_chat(call.world, user.id, req.chat_id)
    target = input_user(call.world, user.id, req.user_id)
    if target.id != user.id and not group.is_admin(user.id):
        raise RpcError(400, "CHAT_ADMIN_REQUIRED")
    if not groupops.remove(call.world, group, target.id):
        raise bad_request("USER_NOT_PARTICIPANT")
    return _updates(call, user.id, group, [target.id])


def _participant(member: Member) -> types.TypeChatParticipant:
    date = render.ts(member.date)
    if member.role == "creator":
        return types.ChatParticipantCreator(user_id=member.user_id)
    cls = types.ChatParticipantAdmin if member.role == "admin" else types.ChatParticipant
    return cls(user_id=member.user_id, inviter_id=member.inviter_id or member.user_id, date=date)


@handles(functions.messages.GetFullChatRequest)
async def get_full_chat(call: Call, req: functions.messages.GetFullChatRequest) -> types.messages.ChatFull:
    """messages.getFullChat: the whole member list (basic groups have no paging or hiding)."""
    user = me(call)
    group = input_chat(call.world, user.id, req.chat_id)
    participants = types.ChatParticipants(
        chat_id=group.id, participants=[_participant(m) for m in group.members.values()], version=1
    )
    full = types.ChatFull(id=group.id, about="", participants=participants, notify_settings=NOTIFY)
    users, chats = render.entities(call.world, user.id, [group.id, *group.members])
    return types.messages.ChatFull(full_chat=full, chats=chats, users=users)


@handles(functions.messages.GetChatsRequest)
async def get_chats(call: Call, req: functions.messages.GetChatsRequest) -> types.messages.Chats:
    """messages.getChats: groups the caller left show as chatForbidden; unknown ids are skipped."""
    user = me(call)
    world = call.world
    return types.messages.Chats(
        chats=[render.chat(world, user.id, world.chats[cid]) for cid in req.id if cid in world.chats]
    )
