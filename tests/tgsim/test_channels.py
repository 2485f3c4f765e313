"""Supergroups and channels: member lists with Telegram's caps, hidden members, joining public
groups, channel messages and history."""

from __future__ import annotations

import asyncio
import time

import pytest
from telethon import errors, events
from telethon.tl import functions, types

from tests.tgsim.worldkit import collect, user

pytestmark = pytest.mark.asyncio


async def test_participants_of_a_12000_member_group(wsim, login):
    world = wsim.world
    owner, viewer = user(world, "big_owner"), user(world, "big_viewer")
    crowd = world.bulk_create_users(12_000, prefix="crowd")
    # The earliest joiner is last in "recent" order: past the 10,000 that paging can reach.
    world.set_user(crowd[0], first_name="Zebulon", last_name="Quixotic")
    gid = world.create_group("Huge Group", owner, members=[*crowd, viewer], username="huge_group")
    cv = await login(world.users[viewer].phone)

    started = time.monotonic()
    members = await cv.get_participants("huge_group", limit=None)
    assert members.total == 12_002
    assert len(members) == 10_000 and len({u.id for u in members}) == 10_000
    assert crowd[0] not in {u.id for u in members}
    assert time.monotonic() - started < 20

    found = await cv.get_participants("huge_group", search="Quixot")
    assert [u.id for u in found] == [crowd[0]]

    page = await cv(
        functions.channels.GetParticipantsRequest(
            channel="huge_group", filter=types.ChannelParticipantsRecent(), offset=0, limit=500, hash=0
        )
    )
    assert len(page.participants) == 200 and page.count == 12_002
    assert isinstance(page.participants[0], types.ChannelParticipantSelf)  # the viewer joined last
    assert gid in world.users[viewer].channels


async def test_a_shorter_participants_page_and_withheld_members_are_what_the_client_gets(wsim, login):
    world = wsim.world
    owner, viewer = user(world, "short_owner"), user(world, "short_viewer")
    crowd = world.bulk_create_users(250, prefix="short")
    gid = world.create_group("Short pages", owner, members=[*crowd, viewer], username="short_pages")
    cv = await login(world.users[viewer].phone)

    def page(offset):
        request = functions.channels.GetParticipantsRequest(
            channel="short_pages", filter=types.ChannelParticipantsRecent(), offset=offset, limit=200, hash=0
        )
        return cv(request)

    assert len((await page(0)).participants) == 200  # Telegram's own page size by default
    wsim.faults.participants_page(100)
    first = await page(0)
    assert len(first.participants) == 100 and first.count == 252
    wsim.faults.withhold_participants(gid, 52)
    assert len((await page(100)).participants) == 100
    last = await page(200)
    assert last.participants == [] and last.count == 252, "the withheld members are counted, not listed"
    wsim.faults.clear()
    assert len((await page(0)).participants) == 200


async def test_hidden_members_group_shows_only_admins_to_members(wsim, login):
    world = wsim.world
    owner, admin, member = user(world, "hid_owner"), user(world, "hid_admin"), user(world, "hid_member")
    others = world.bulk_create_users(50, prefix="hid")
    world.create_group(
        "Hidden", owner, members=[member, *others], admins=[admin], hidden_members=True, username="hidden_grp"
    )
    cm = await login(world.users[member].phone)
    seen = await cm.get_participants("hidden_grp")
    assert {u.id for u in seen} == {owner, admin}
    full = await cm(functions.channels.GetFullChannelRequest("hidden_grp"))
    assert full.full_chat.participants_hidden and not full.full_chat.can_view_participants
    assert full.full_chat.participants_count == 53

    ca = await login(world.users[admin].phone)
    assert len(await ca.get_participants("hidden_grp")) == 53


async def test_broadcast_member_list_needs_admin(wsim, login):
    world = wsim.world
    owner, reader = user(world, "bc_owner"), user(world, "bc_reader")
    world.create_channel("News", owner, username="bc_news", members=[reader])
    cr = await login(world.users[reader].phone)
    with pytest.raises(errors.ChatAdminRequiredError):
        await cr.get_participants("bc_news")
    co = await login(world.users[owner].phone)
    assert {u.id for u in await co.get_participants("bc_news")} == {owner, reader}
    with pytest.raises(errors.ChatAdminRequiredError):
        await cr.send_message("bc_news", "can readers post?")


async def test_join_post_read_and_leave_public_group(wsim, login):
    world = wsim.world
    owner, joiner = user(world, "pub_owner"), user(world, "pub_joiner")
    gid = world.create_group("Public", owner, username="public_grp")
    for i in range(5):
        world.say(owner, to_chat_id=gid, text=f"old {i}")
    co = await login(world.users[owner].phone)
    cj = await login(world.users[joiner].phone)

    with pytest.raises(errors.ChatWriteForbiddenError):
        await cj.send_message("public_grp", "before joining")
    await cj(functions.channels.JoinChannelRequest("public_grp"))
    with pytest.raises(errors.UserAlreadyParticipantError):
        await cj(functions.channels.JoinChannelRequest("public_grp"))
    history = await cj.get_messages("public_grp", limit=10)
    assert [m.text for m in history] == [f"old {i}" for i in reversed(range(5))]

    incoming: asyncio.Queue = asyncio.Queue()

    async def put(event):
        incoming.put_nowait(event)

    co.add_event_handler(put, events.NewMessage(incoming=True))
    sent = await cj.send_message("public_grp", "hello group")
    event = (await collect(incoming, 1))[0]
    assert (event.raw_text, event.sender_id, event.id) == ("hello group", joiner, sent.id)

    seen: asyncio.Queue = asyncio.Queue()

    async def put_read(event):
        seen.put_nowait(event)

    cj.add_event_handler(put_read, events.MessageRead(inbox=False))
    await co.send_read_acknowledge("public_grp", max_id=sent.id)
    assert world.dialog_state(owner, gid)["unread_count"] == 0
    assert (await collect(seen, 1))[0].max_id == sent.id  # the author learns its message was seen
    await cj(functions.channels.LeaveChannelRequest("public_grp"))
    assert joiner not in world.channels[gid].members


async def test_private_group_and_deleted_messages(wsim, login):
    world = wsim.world
    owner, member, outsider = user(world, "pg_owner"), user(world, "pg_member"), user(world, "pg_out")
    gid = world.create_group("Private", owner, members=[member])
    cm = await login(world.users[member].phone)
    dialogs = await cm.get_dialogs()
    group = next(d.entity for d in dialogs if d.entity.id == gid)
    msg = await cm.send_message(group, "to be deleted")
    await cm.delete_messages(group, [msg.id])
    assert world.channel_messages(gid) == []

    co = await login(world.users[outsider].phone)
    # The member's access_hash for the group is worthless to an outsider.
    with pytest.raises(errors.ChannelInvalidError):
        await co(functions.channels.JoinChannelRequest(types.InputChannel(gid, group.access_hash)))


async def test_join_private_group_by_invite_link(wsim, login):
    world = wsim.world
    owner, joiner = user(world, "inv_owner"), user(world, "inv_joiner")
    gid = world.create_group("Invite Only", owner)
    link = world.invite_link(gid)
    invite_hash = link.rsplit("+", 1)[1]
    cj = await login(world.users[joiner].phone)
    preview = await cj(functions.messages.CheckChatInviteRequest(invite_hash))
    assert isinstance(preview, types.ChatInvite) and preview.title == "Invite Only"
    joined = await cj(functions.messages.ImportChatInviteRequest(invite_hash))
    assert joined.chats[0].id == gid and joiner in world.channels[gid].members
    assert isinstance(
        await cj(functions.messages.CheckChatInviteRequest(invite_hash)), types.ChatInviteAlready
    )
    with pytest.raises(errors.UserAlreadyParticipantError):
        await cj(functions.messages.ImportChatInviteRequest(invite_hash))
    with pytest.raises(errors.InviteHashInvalidError):
        await cj(functions.messages.ImportChatInviteRequest("nope"))
