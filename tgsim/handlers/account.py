"""account.*: profile, username, online status."""

from __future__ import annotations

import time

from telethon.tl import functions, types

from tgsim import render
from tgsim.handlers.common import me
from tgsim.rpc import Call, bad_request, handles
from tgsim.world import valid_username


@handles(functions.account.UpdateProfileRequest)
async def update_profile(call: Call, req: functions.account.UpdateProfileRequest) -> types.User:
    """account.updateProfile: only the given fields change; an empty first name is FIRSTNAME_INVALID and
    a bio over 70 characters ABOUT_TOO_LONG."""
    user = me(call)
    if req.first_name is not None:
        if not req.first_name.strip():
            raise bad_request("FIRSTNAME_INVALID")
        user.first_name = req.first_name.strip()
    if req.last_name is not None:
        user.last_name = req.last_name.strip()
    if req.about is not None:
        if len(req.about) > 70:
            raise bad_request("ABOUT_TOO_LONG")
        user.about = req.about
    return render.user(call.world, user.id, user.id)


def _check_free(call: Call, username: str, user_id: int) -> None:
    if not valid_username(username):
        raise bad_request("USERNAME_INVALID")
    owner = call.world.usernames.get(username.lower())
    if owner is not None and owner != user_id:
        raise bad_request("USERNAME_OCCUPIED")


@handles(functions.account.CheckUsernameRequest)
async def check_username(call: Call, req: functions.account.CheckUsernameRequest) -> bool:
    """account.checkUsername: False if taken, USERNAME_INVALID if malformed."""
    user = me(call)
    if not valid_username(req.username):
        raise bad_request("USERNAME_INVALID")
    return call.world.usernames.get(req.username.lower()) in (None, user.id)


@handles(functions.account.UpdateUsernameRequest)
async def update_username(call: Call, req: functions.account.UpdateUsernameRequest) -> types.User:
    """account.updateUsername: USERNAME_OCCUPIED if someone has it, USERNAME_INVALID if malformed,
    USERNAME_NOT_MODIFIED if unchanged; an empty string removes the username."""
    user = me(call)
    world = call.world
    new = req.username.lstrip("@")
    if (user.username or "") == new:
        raise bad_request("USERNAME_NOT_MODIFIED")
    if new:
        _check_free(call, new, user.id)
    if user.username:
        world.usernames.pop(user.username.lower(), None)
    user.username = new or None
    if new:
        world.usernames[new.lower()] = user.id
    return render.user(world, user.id, user.id)


@handles(functions.account.UpdateStatusRequest)
async def update_status(call: Call, req: functions.account.UpdateStatusRequest) -> bool:
    """account.updateStatus: marks the user seen now; others see online/offline via the live connection."""
    user = me(call)
    user.last_seen = int(time.time())
    return True
