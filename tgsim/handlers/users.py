"""users.*: fetching users as the caller sees them."""

from __future__ import annotations

from telethon.tl import functions, types

from tgsim import render
from tgsim.access import input_user
from tgsim.dialogs import NOTIFY
from tgsim.handlers.common import me
from tgsim.rpc import Call, RpcError, handles


@handles(functions.users.GetUsersRequest)
async def get_users(call: Call, req: functions.users.GetUsersRequest) -> list:
    """users.getUsers: users the caller can address (InputUserSelf included); entries with a foreign
    access_hash are silently left out, as Telegram does for a list."""
    user = me(call)
    result = []
    for inp in req.id:
        try:
            target = input_user(call.world, user.id, inp)
        except RpcError:
            continue
        result.append(render.user(call.world, user.id, target.id))
    return result


@handles(functions.users.GetFullUserRequest)
async def get_full_user(call: Call, req: functions.users.GetFullUserRequest) -> types.users.UserFull:
    """users.getFullUser: bio, blocked flag and common-chat count; a foreign hash is USER_ID_INVALID."""
    user = me(call)
    target = input_user(call.world, user.id, req.id)
    common = len(user.channels & target.channels) if target.id != user.id else 0
    full = types.UserFull(
        id=target.id,
        settings=types.PeerSettings(),
        notify_settings=NOTIFY,
        common_chats_count=common,
        about=target.about or None,
        blocked=target.id in user.blocked or None,
    )
    users, chats = render.entities(call.world, user.id, [target.id])
    return types.users.UserFull(full_user=full, chats=chats, users=users)
