"""updates.*: the state a client starts from and the differences it catches up with."""

from __future__ import annotations

from telethon.tl import functions, types

from tgsim import updates
from tgsim.access import input_channel
from tgsim.handlers.common import me
from tgsim.rpc import Call, bad_request, handles

USER_CHANNEL_DIFF_MAX = 100  # Telegram caps a user's getChannelDifference at 100 events


@handles(functions.updates.GetStateRequest)
async def get_state(call: Call, req: functions.updates.GetStateRequest) -> types.updates.State:
    """updates.getState: the account's current pts (qts and seq are always 0 here)."""
    user = me(call)
    return updates.state(call.world, user.id)


@handles(functions.updates.GetDifferenceRequest)
async def get_difference(call: Call, req: functions.updates.GetDifferenceRequest):
    """updates.getDifference: differenceEmpty, difference, differenceSlice (more to fetch) or
    differenceTooLong, from the account's pts log; channels with news get updateChannelTooLong."""
    user = me(call)
    if req.pts <= 0:
        raise bad_request("PERSISTENT_TIMESTAMP_EMPTY")
    date = int(req.date.timestamp()) if req.date else 0
    return updates.difference(call.world, user.id, req.pts, date)


@handles(functions.updates.GetChannelDifferenceRequest)
async def get_channel_difference(call: Call, req: functions.updates.GetChannelDifferenceRequest):
    """updates.getChannelDifference: the channel's events after pts (CHANNEL_PRIVATE if the caller was
    removed, which makes Telethon forget the channel)."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel)
    limit = max(1, min(req.limit or USER_CHANNEL_DIFF_MAX, USER_CHANNEL_DIFF_MAX))
    return updates.channel_difference(call.world, user.id, channel, req.pts, limit)
