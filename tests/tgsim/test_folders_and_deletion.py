"""The chat archive (peer folder 1) and deleting a supergroup or channel, as Telegram does them."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events
from telethon.tl import functions, types

from tests.tgsim.worldkit import user

pytestmark = pytest.mark.asyncio


async def test_archived_chats_are_in_folder_1_and_every_dialog_comes_without_a_folder(wsim, login):
    world = wsim.world
    me, ann, bob = user(world, "arch_me"), user(world, "arch_ann"), user(world, "arch_bob")
    group = world.create_group("Archive group", ann, members=[me], username="archive_group")
    world.say(ann, to_user_id=me, text="from ann")
    world.say(bob, to_user_id=me, text="from bob")
    client = await login(world.users[me].phone)
    await client.get_dialogs()  # entities for the peers

    answer = await client(
        functions.folders.EditPeerFoldersRequest(
            [
                types.InputFolderPeer(await client.get_input_entity("arch_ann"), folder_id=1),
                types.InputFolderPeer(await client.get_input_entity("archive_group"), folder_id=1),
            ]
        )
    )
    moved = answer.updates[0]
    assert isinstance(moved, types.UpdateFolderPeers) and moved.pts_count == 1
    assert {(type(p.peer), p.folder_id) for p in moved.folder_peers} == {
        (types.PeerUser, 1),
        (types.PeerChannel, 1),
    }

    archived = await client.get_dialogs(folder=1)
    main = await client.get_dialogs(folder=0)
    everything = await client.get_dialogs()
    assert {d.entity.id for d in archived} == {ann, group} and all(d.archived for d in archived)
    assert [d.entity.id for d in main] == [bob] and not main[0].archived
    assert {d.entity.id for d in everything} == {ann, bob, group}

    world.archive(me, ann, archived=False)
    assert {d.entity.id for d in await client.get_dialogs(folder=1)} == {group}
    with pytest.raises(errors.FolderIdInvalidError):
        await client(
            functions.messages.GetDialogsRequest(
                offset_date=None,
                offset_id=0,
                offset_peer=types.InputPeerEmpty(),
                limit=10,
                hash=0,
                folder_id=2,
            )
        )
    with pytest.raises(errors.FolderIdInvalidError):
        await client(
            functions.folders.EditPeerFoldersRequest(
                [types.InputFolderPeer(await client.get_input_entity("arch_bob"), folder_id=5)]
            )
        )


async def test_the_account_s_other_session_hears_of_the_archive_and_catches_up_on_it(wsim, login):
    world = wsim.world
    me, ann = user(world, "fold_me"), user(world, "fold_ann")
    world.say(ann, to_user_id=me, text="hello")
    first = await login(world.users[me].phone)
    second = await login(world.users[me].phone)
    heard: asyncio.Queue = asyncio.Queue()
    second.add_event_handler(lambda update: heard.put_nowait(update), events.Raw(types.UpdateFolderPeers))
    await second.get_dialogs()
    await first.get_dialogs()

    await first.edit_folder("fold_ann", folder=1)
    update = await asyncio.wait_for(heard.get(), 5)
    assert update.folder_peers[0].folder_id == 1
    difference = await first(functions.updates.GetDifferenceRequest(pts=update.pts - 1, date=0, qts=0))
    assert any(isinstance(u, types.UpdateFolderPeers) for u in difference.other_updates)


async def test_only_the_creator_deletes_a_channel_and_it_disappears_for_its_members(wsim, login):
    world = wsim.world
    owner, admin, member = user(world, "del_owner"), user(world, "del_admin"), user(world, "del_member")
    co, ca, cm = [await login(world.users[u].phone) for u in (owner, admin, member)]
    created = await co(functions.channels.CreateChannelRequest(title="Doomed", about="", megagroup=True))
    channel = created.chats[0]
    gid = channel.id
    world.add_members(gid, [admin, member])
    world.promote(gid, admin)
    link = world.invite_link(gid)
    world.say(member, to_chat_id=gid, text="still here")
    await cm.get_dialogs()
    await ca.get_dialogs()
    gone: asyncio.Queue = asyncio.Queue()
    cm.add_event_handler(lambda update: gone.put_nowait(update), events.Raw(types.UpdateChannel))

    with pytest.raises(errors.ChatAdminRequiredError):
        await ca(functions.channels.DeleteChannelRequest(await ca.get_input_entity(gid)))

    answer = await co(functions.channels.DeleteChannelRequest(channel))
    assert isinstance(answer.updates[0], types.UpdateChannel)
    assert isinstance(answer.chats[0], types.ChannelForbidden) and answer.chats[0].id == gid
    pushed = await asyncio.wait_for(gone.get(), 5)
    assert pushed.channel_id == gid
    assert gid not in world.channels and gid not in world.users[member].channels
    assert link.rsplit("+", 1)[1] not in world.invites
    assert [d for d in await cm.get_dialogs() if d.entity.id == gid] == []
    with pytest.raises(errors.ChannelInvalidError):
        await cm(functions.channels.GetFullChannelRequest(await cm.get_input_entity(gid)))


async def test_a_channel_of_more_than_1000_members_cannot_be_deleted(wsim, login):
    world = wsim.world
    owner = user(world, "big_del_owner")
    crowd = world.bulk_create_users(1000, prefix="bigdel")
    gid = world.create_channel("Too big to delete", owner, username="too_big_to_delete", members=crowd)
    client = await login(world.users[owner].phone)
    with pytest.raises(errors.ChannelTooLargeError):
        await client(functions.channels.DeleteChannelRequest("too_big_to_delete"))
    assert gid in world.channels
