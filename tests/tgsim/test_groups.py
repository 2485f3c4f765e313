"""Basic groups: every member has its own copy (own ids, own pts) of each message, and edits, deletes,
reads and participant lists work through Telethon as with Telegram's small groups."""

from __future__ import annotations

import asyncio

import pytest
from telethon import events, utils
from telethon.tl import functions, types

from tests.tgsim.worldkit import collect, user

pytestmark = pytest.mark.asyncio


def queue(client, builder) -> asyncio.Queue:
    found: asyncio.Queue = asyncio.Queue()

    async def put(event):
        found.put_nowait(event)

    client.add_event_handler(put, builder)
    return found


async def test_basic_group_messages_edits_deletes_and_reads(wsim, login):
    world = wsim.world
    a, b, c = user(world, "basic_ann"), user(world, "basic_ben"), user(world, "basic_cat")
    world.say(b, to_user_id=a, text="private first")  # b's box is now one id ahead of c's
    gid = world.create_group("Flat share", a, members=[b, c], megagroup=False)
    ca, cb, cc = [await login(world.users[u].phone) for u in (a, b, c)]
    chat = types.PeerChat(gid)
    new_b, new_c = queue(cb, events.NewMessage(incoming=True)), queue(cc, events.NewMessage(incoming=True))
    edited_c, deleted_c = queue(cc, events.MessageEdited()), queue(cc, events.MessageDeleted())
    read_a = queue(ca, events.MessageRead(inbox=False))

    sent = await ca.send_message(chat, "rent is due")
    got_b, got_c = (await collect(new_b, 1))[0], (await collect(new_c, 1))[0]
    assert got_b.chat_id == got_c.chat_id == utils.get_peer_id(chat)
    assert got_b.is_group and got_b.sender_id == a and got_b.raw_text == "rent is due"
    assert got_c.id != got_b.id  # each member's copy has that member's own id

    await cc.send_read_acknowledge(chat)
    assert (await collect(read_a, 1))[0].max_id == sent.id  # in the sender's own ids

    await ca.edit_message(chat, sent.id, "rent is due on Friday")
    assert (await collect(edited_c, 1))[0].raw_text == "rent is due on Friday"
    await ca.delete_messages(chat, [sent.id], revoke=True)
    assert (await collect(deleted_c, 1))[0].deleted_ids == [got_c.id]
    assert await cb.get_messages(chat, limit=5) == []

    members = await cb.get_participants(chat)
    assert {u.id for u in members} == {a, b, c}
    dialogs = await cc.get_dialogs()
    assert any(d.is_group and d.entity.id == gid for d in dialogs)


async def test_create_chat_and_leave(wsim, login):
    world = wsim.world
    a, b = user(world, "maker_mo"), user(world, "guest_gus")
    shy = user(world, "shy_sue", restricted_privacy=True)
    ca = await login(world.users[a].phone)
    invited = await ca(
        functions.messages.CreateChatRequest(
            users=[await ca.get_input_entity("guest_gus"), await ca.get_input_entity("shy_sue")], title="Team"
        )
    )
    gid = invited.updates.chats[0].id
    assert [m.user_id for m in invited.missing_invitees] == [shy]
    assert set(world.chats[gid].members) == {a, b}
    cb = await login(world.users[b].phone)
    incoming = queue(cb, events.NewMessage(incoming=True))
    await ca.send_message(types.PeerChat(gid), "welcome")
    assert (await collect(incoming, 1))[0].raw_text == "welcome"
    await cb(functions.messages.DeleteChatUserRequest(gid, types.InputUserSelf()))
    assert b not in world.chats[gid].members
    full = await ca(functions.messages.GetFullChatRequest(gid))
    assert [p.user_id for p in full.full_chat.participants.participants] == [a]
