"""channels.*: creating, joining, leaving, inviting, member lists and channel info."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from telethon.tl import functions, types

from tgsim import channelops, render
from tgsim.access import input_channel, input_user
from tgsim.dialogs import NOTIFY, channel_unread
from tgsim.handlers.common import me
from tgsim.model import Channel
from tgsim.rpc import Call, RpcError, bad_request, handles
from tgsim.updates import wrap

if TYPE_CHECKING:
    from tgsim.world import World

# Telegram refuses to delete bigger channels and groups (channels.deleteChannel: CHANNEL_TOO_LARGE).
DELETE_MAX_MEMBERS = 1000


def _channel_updates(call: Call, user_id: int, channel: Channel) -> types.Updates:
    return wrap(call.world, user_id, [types.UpdateChannel(channel_id=channel.id)], [channel.id])


@handles(functions.channels.CreateChannelRequest)
async def create_channel(call: Call, req: functions.channels.CreateChannelRequest) -> types.Updates:
    """channels.createChannel: a megagroup or a broadcast channel with the caller as creator
    (CHAT_TITLE_EMPTY for a blank title)."""
    user = me(call)
    title = (req.title or "").strip()
    if not title:
        raise bad_request("CHAT_TITLE_EMPTY")
    world = call.world
    cid = world.create_group(title, user.id) if req.megagroup else world.create_channel(title, user.id)
    channel = world.channels[cid]
    channel.about = req.about or ""
    channel.members[user.id].date = int(time.time())
    return _channel_updates(call, user.id, channel)


@handles(functions.channels.DeleteChannelRequest)
async def delete_channel(call: Call, req: functions.channels.DeleteChannelRequest) -> types.Updates:
    """channels.deleteChannel: only the creator deletes a supergroup or channel (CHAT_ADMIN_REQUIRED for
    anyone else, admins included), and not one of more than DELETE_MAX_MEMBERS (CHANNEL_TOO_LARGE).
    It disappears for every member: each gets updateChannel with the channel as channelForbidden, and the
    channel, its messages, username and invite link are gone (later requests with it: CHANNEL_INVALID)."""
    user = me(call)
    world = call.world
    channel = input_channel(world, user.id, req.channel)
    if channel.creator != user.id:
        raise bad_request("CHAT_ADMIN_REQUIRED")
    if len(channel.members) > DELETE_MAX_MEMBERS:
        raise bad_request("CHANNEL_TOO_LARGE")
    for uid in channelops.remove(world, channel):
        if uid != user.id and world.net.is_online(uid):
            world.net.push(uid, _gone(world, uid, channel))
    world.net.push(user.id, _gone(world, user.id, channel), exclude=call.session)
    return _gone(world, user.id, channel)


def _gone(world: World, viewer: int, channel: Channel) -> types.Updates:
    return types.Updates(
        updates=[types.UpdateChannel(channel_id=channel.id)],
        users=[],
        chats=[render.channel_forbidden(world, viewer, channel)],
        date=render.ts(time.time()),
        seq=0,
    )


@handles(functions.channels.JoinChannelRequest)
async def join_channel(call: Call, req: functions.channels.JoinChannelRequest) -> types.Updates:
    """channels.joinChannel: public channels (found via resolveUsername) only; a private one is
    CHANNEL_PRIVATE, a second join USER_ALREADY_PARTICIPANT."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel)
    if not channelops.join(call.world, channel, user.id):
        raise bad_request("USER_ALREADY_PARTICIPANT")
    return _channel_updates(call, user.id, channel)


@handles(functions.channels.LeaveChannelRequest)
async def leave_channel(call: Call, req: functions.channels.LeaveChannelRequest) -> types.Updates:
    """channels.leaveChannel: USER_NOT_PARTICIPANT if the caller isn't in it."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel)
    if channel.creator == user.id and channel.broadcast:
        raise bad_request("USER_CREATOR")
    if not channelops.leave(call.world, channel, user.id):
        raise bad_request("USER_NOT_PARTICIPANT")
    return _channel_updates(call, user.id, channel)


@handles(functions.channels.InviteToChannelRequest)
async def invite_to_channel(call: Call, req: functions.channels.InviteToChannelRequest):
    """channels.inviteToChannel: members may invite to a supergroup, only admins to a broadcast channel
    (CHAT_ADMIN_REQUIRED). Users whose privacy forbids it come back in missing_invitees, as Telegram
    reports them since layer 166; deactivated accounts too."""
    user = me(call)
    world = call.world
    channel = input_channel(world, user.id, req.channel, need_member=True)
    if channel.broadcast and not channel.is_admin(user.id):
        raise RpcError(403, "CHAT_ADMIN_REQUIRED")
    missing, added = [], []
    for inp in req.users:
        target = input_user(world, user.id, inp)
        if target.deleted or target.banned:
            raise bad_request("INPUT_USER_DEACTIVATED")
        if target.restricted_privacy and user.id not in target.contacts:
            missing.append(types.MissingInvitee(user_id=target.id))
            continue
        if target.id in channel.kicked:
            if not channel.is_admin(user.id):
                raise bad_request("USER_KICKED")
            channel.kicked.discard(target.id)
        if channelops.join(world, channel, target.id, inviter=user.id):
            added.append(target.id)
    updates = wrap(world, user.id, [types.UpdateChannel(channel_id=channel.id)], [channel.id, *added])
    return types.messages.InvitedUsers(updates=updates, missing_invitees=missing)


@handles(functions.channels.GetParticipantsRequest)
async def get_participants(call: Call, req: functions.channels.GetParticipantsRequest):
    """channels.getParticipants. Telegram's member-list limits: at most 200 per page and only the first
    10,000 of a filter's results reachable by offset (count still reports the true size), while
    ChannelParticipantsSearch(q) finds members by name prefix beyond that. Broadcast channels list
    members to admins only (CHAT_ADMIN_REQUIRED); a group with hidden members shows non-admins only its
    admins."""
    user = me(call)
    world = call.world
    channel = input_channel(world, user.id, req.channel)
    admin = channel.is_admin(user.id)
    if channel.broadcast and not admin and not isinstance(req.filter, types.ChannelParticipantsAdmins):
        raise RpcError(400, "CHAT_ADMIN_REQUIRED")
    limits = world.net.limits
    cap = limits.participants_visible_cap if limits else 10_000
    page_max = limits.participants_page_max if limits else 200
    f = req.filter
    if (channel.hidden_members and not admin) or isinstance(f, types.ChannelParticipantsAdmins):
        members = channelops.admins(channel)
        total = len(members)
    elif isinstance(f, types.ChannelParticipantsSearch):
        members = channelops.search(world, channel, f.q)
        total = len(channel.members) if not f.q.strip() else len(members)
    elif isinstance(f, types.ChannelParticipantsContacts):
        contacts = world.users[user.id].contacts
        members = [m for m in channelops.search(world, channel, f.q) if m.user_id in contacts]
        total = len(members)
    elif isinstance(f, types.ChannelParticipantsKicked | types.ChannelParticipantsBanned):
        members, total = [], len(channel.kicked)
    elif isinstance(f, types.ChannelParticipantsBots):
        members, total = [], 0
    else:  # ChannelParticipantsRecent and anything else
        members = channelops.recent(channel)
        total = len(channel.members)
    withheld = call.server.faults.withheld.get(channel.id, 0) if call.server is not None else 0
    visible = members[: max(0, min(cap, len(members) - withheld))]
    offset = max(0, req.offset)
    page = visible[offset : offset + max(0, min(req.limit, page_max))]
    participants = [channelops.participant(m, user.id) for m in page]
    users, chats = render.entities(world, user.id, [m.user_id for m in page])
    return types.channels.ChannelParticipants(
        count=total, participants=participants, chats=chats, users=users
    )


@handles(functions.channels.GetParticipantRequest)
async def get_participant(call: Call, req: functions.channels.GetParticipantRequest):
    """channels.getParticipant: USER_NOT_PARTICIPANT if the user isn't a member."""
    user = me(call)
    world = call.world
    channel = input_channel(world, user.id, req.channel)
    target = input_user(world, user.id, req.participant)
    member = channel.members.get(target.id)
    if member is None:
        raise bad_request("USER_NOT_PARTICIPANT")
    users, chats = render.entities(world, user.id, [target.id, channel.id])
    return types.channels.ChannelParticipant(
        participant=channelops.participant(member, user.id), chats=chats, users=users
    )


@handles(functions.channels.GetFullChannelRequest)
async def get_full_channel(call: Call, req: functions.channels.GetFullChannelRequest):
    """channels.getFullChannel: about, counts, read state and pts; participants_hidden and
    can_view_participants tell the client whether the member list is open to it."""
    user = me(call)
    world = call.world
    channel = input_channel(world, user.id, req.channel)
    admin = channel.is_admin(user.id)
    full = types.ChannelFull(
        id=channel.id,
        about=channel.about,
        read_inbox_max_id=channel.read_inbox.get(user.id, 0),
        read_outbox_max_id=channel.read_outbox_max_id,
        unread_count=channel_unread(channel, user.id) if user.id in channel.members else 0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=NOTIFY,
        bot_info=[],
        pts=channel.pts,
        can_view_participants=(admin or (channel.megagroup and not channel.hidden_members)) or None,
        participants_hidden=channel.hidden_members or None,
        participants_count=len(channel.members),
        admins_count=len(channelops.admins(channel)),
    )
    users, chats = render.entities(world, user.id, [channel.id])
    return types.messages.ChatFull(full_chat=full, chats=chats, users=users)


@handles(functions.channels.GetChannelsRequest)
async def get_channels(call: Call, req: functions.channels.GetChannelsRequest) -> types.messages.Chats:
    """channels.getChannels: a foreign access_hash is CHANNEL_INVALID; non-members of public channels
    still see them (left=True)."""
    user = me(call)
    world = call.world
    chats = []
    for inp in req.id:
        try:
            channel = input_channel(world, user.id, inp)
        except RpcError as exc:
            if exc.message != "CHANNEL_PRIVATE":
                raise
            chats.append(render.channel_forbidden(world, user.id, world.channels[inp.channel_id]))
            continue
        chats.append(render.channel(world, user.id, channel))
    return types.messages.Chats(chats=chats)


def _invited(call: Call, invite_hash: str) -> Channel:
    cid = call.world.invites.get(invite_hash.strip().removeprefix("+"))
    if cid is None or cid not in call.world.channels:
        raise bad_request("INVITE_HASH_INVALID")
    return call.world.channels[cid]


@handles(functions.messages.CheckChatInviteRequest)
async def check_chat_invite(call: Call, req: functions.messages.CheckChatInviteRequest):
    """messages.checkChatInvite: a preview (title, member count) for outsiders, chatInviteAlready for
    members; an unknown hash is INVITE_HASH_INVALID."""
    user = me(call)
    channel = _invited(call, req.hash)
    if user.id in channel.members:
        return types.ChatInviteAlready(chat=render.channel(call.world, user.id, channel))
    return types.ChatInvite(
        title=channel.title,
        photo=types.PhotoEmpty(id=0),
        participants_count=len(channel.members),
        color=0,
        channel=True,
        broadcast=channel.broadcast or None,
        megagroup=channel.megagroup or None,
        public=bool(channel.username) or None,
    )


@handles(functions.messages.ImportChatInviteRequest)
async def import_chat_invite(call: Call, req: functions.messages.ImportChatInviteRequest):
    """messages.importChatInvite joins through an invite link, private groups included
    (USER_ALREADY_PARTICIPANT for members, CHANNEL_PRIVATE for users kicked from it)."""
    user = me(call)
    channel = _invited(call, req.hash)
    if user.id in channel.kicked:
        raise bad_request("CHANNEL_PRIVATE")
    if not channelops.join(call.world, channel, user.id):
        raise bad_request("USER_ALREADY_PARTICIPANT")
    return _channel_updates(call, user.id, channel)
