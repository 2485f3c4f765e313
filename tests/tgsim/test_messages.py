"""Private messages between real Telethon clients: events, history, dialogs, reads, edits, deletes,
media, dedupe and the refusals Telegram gives."""

from __future__ import annotations

import asyncio
import io

import pytest
from telethon import errors, events
from telethon.tl import functions, types

from tests.tgsim.worldkit import collect, user

pytestmark = pytest.mark.asyncio


async def pair(wsim, login):
    world = wsim.world
    a, b = user(world, "alice_one"), user(world, "bob_two")
    ca = await login(world.users[a].phone)
    cb = await login(world.users[b].phone)
    return a, b, ca, cb


def queue_events(client, builder) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()

    async def put(event):
        queue.put_nowait(event)

    client.add_event_handler(put, builder)
    return queue


async def test_new_message_event_history_and_dialogs(wsim, login):
    a, _b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    for text in ("one", "two", "three"):
        await ca.send_message("bob_two", text)
    got = await collect(incoming, 3)
    assert [e.raw_text for e in got] == ["one", "two", "three"]
    assert {e.sender_id for e in got} == {a}

    history = await cb.get_messages("alice_one", limit=10)
    assert [m.text for m in history] == ["three", "two", "one"]
    assert not any(m.out for m in history)
    assert [m.text for m in await ca.get_messages("bob_two", limit=2)] == ["three", "two"]
    oldest_first = [m.text async for m in cb.iter_messages("alice_one", reverse=True)]
    assert oldest_first == ["one", "two", "three"]
    assert [m.text for m in await cb.get_messages("alice_one", offset_id=history[0].id, limit=1)] == ["two"]

    dialog = (await cb.get_dialogs())[0]
    assert (dialog.entity.id, dialog.unread_count, dialog.message.text) == (a, 3, "three")


async def test_read_history_reaches_the_sender(wsim, login):
    a, b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    read = queue_events(ca, events.MessageRead(inbox=False))
    sent = [await ca.send_message("bob_two", f"m{i}") for i in range(3)]
    await collect(incoming, 3)
    await cb.send_read_acknowledge("alice_one")
    event = (await collect(read, 1))[0]
    # The sender learns the read position in its own message ids.
    assert event.max_id == sent[-1].id
    assert (await cb.get_dialogs())[0].unread_count == 0
    assert wsim.world.dialog_state(a, b)["read_outbox_max_id"] == sent[-1].id


async def test_edit_and_delete_arrive_as_events(wsim, login):
    a, b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    edited = queue_events(cb, events.MessageEdited())
    deleted = queue_events(cb, events.MessageDeleted())
    msg = await ca.send_message("bob_two", "draft")
    their = (await collect(incoming, 1))[0].message
    await ca.edit_message("bob_two", msg.id, "final")
    assert (await collect(edited, 1))[0].raw_text == "final"
    with pytest.raises(errors.MessageNotModifiedError):
        await ca.edit_message("bob_two", msg.id, "final")
    with pytest.raises(errors.MessageAuthorRequiredError):
        await cb.edit_message("alice_one", their.id, "hijack")

    await ca.delete_messages("bob_two", [msg.id], revoke=True)
    gone = (await collect(deleted, 1))[0]
    assert gone.deleted_ids == [their.id]  # the recipient's own id for its copy
    assert wsim.world.messages_between(a, b) == [] and wsim.world.messages_between(b, a) == []


async def test_same_random_id_is_one_message(wsim, login):
    a, b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    peer = await ca.get_input_entity("bob_two")
    request = functions.messages.SendMessageRequest(peer=peer, message="only once", random_id=424242)
    first = await ca(request)
    second = await ca(functions.messages.SendMessageRequest(peer=peer, message="only once", random_id=424242))
    assert first.id == second.id
    await collect(incoming, 1)
    await asyncio.sleep(0.3)
    assert incoming.empty()
    assert [m["text"] for m in wsim.world.messages_between(b, a)] == ["only once"]


async def test_photo_roundtrip(wsim, login):
    _a, _b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    data = bytes(range(256)) * 1500  # 384 KB: several upload parts and download chunks
    upload = io.BytesIO(data)
    upload.name = "blob.bin"
    await ca.send_file("bob_two", upload, caption="look", force_document=True)
    event = (await collect(incoming, 1))[0]
    assert event.raw_text == "look" and event.file.name == "blob.bin"
    assert await cb.download_media(event.message, bytes) == data


async def test_forward_search_and_reactions(wsim, login):
    world = wsim.world
    a, b, ca, cb = await pair(wsim, login)
    c = user(world, "carol_three")
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    await ca.send_message("bob_two", "apples and pears")
    await ca.send_message("bob_two", "just pears")
    got = await collect(incoming, 2)
    found = await cb.get_messages("alice_one", search="apples")
    assert [m.text for m in found] == ["apples and pears"]
    fwd = await cb.forward_messages("carol_three", got[0].message)
    assert fwd.fwd_from is not None and fwd.fwd_from.from_id.user_id == a
    assert world.messages_between(c, b)[0]["text"] == "apples and pears"
    await cb(
        functions.messages.SendReactionRequest(
            peer="alice_one", msg_id=got[1].id, reaction=[types.ReactionEmoji("👍")]
        )
    )
    assert world.messages_between(a, b)[1]["reactions"] == {str(b): "👍"}


async def test_refusals(wsim, login):
    world = wsim.world
    a, _b, ca, _cb = await pair(wsim, login)
    gone = user(world, "gone_user")
    private = user(world, "private_pat", restricted_privacy=True)
    target = await ca.get_input_entity("gone_user")
    world.set_user(gone, deleted=True)
    with pytest.raises(errors.InputUserDeactivatedError):
        await ca.send_message(target, "hello?")
    with pytest.raises(errors.UserPrivacyRestrictedError):
        await ca.send_message("private_pat", "cold message")
    world.users[private].contacts[a] = "Alice"  # contacts may write
    await ca.send_message("private_pat", "hi, it's Alice")
    with pytest.raises(errors.MessageEmptyError):  # Telethon refuses locally; the raw request reaches us
        await ca(functions.messages.SendMessageRequest(peer="bob_two", message="   "))


async def test_peer_flood_after_too_many_first_contacts(wsim, login):
    world = wsim.world
    wsim.limits.enabled = True
    wsim.limits.peer_flood_new_dms_per_day = 3
    wsim.limits.bursts = {}
    a = user(world, "spammy_sam")
    ca = await login(world.users[a].phone)
    names = [f"target_{i}" for i in range(5)]
    for name in names:
        user(world, name)
    for name in names[:3]:
        await ca.send_message(name, "offer")
    with pytest.raises(errors.PeerFloodError):
        await ca.send_message(names[3], "offer")
    await ca.send_message(names[0], "follow-up to an existing chat is fine")


async def test_dialogs_page_past_one_hundred(wsim, login):
    world = wsim.world
    me = user(world, "popular_paula")
    client = await login(world.users[me].phone)
    senders = world.bulk_create_users(150, prefix="fan")
    for uid in senders:
        world.say(uid, to_user_id=me, text=f"hello from {uid}")
    dialogs = await client.get_dialogs(limit=None)
    assert len(dialogs) == 150
    assert {d.entity.id for d in dialogs} == set(senders)
    assert dialogs[0].entity.id == senders[-1]  # newest first


async def test_compressed_photo_roundtrip(wsim, login):
    _a, _b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
    upload = io.BytesIO(jpeg)
    upload.name = "pic.jpg"
    await ca.send_file("bob_two", upload)
    event = (await collect(incoming, 1))[0]
    assert event.photo is not None
    assert await cb.download_media(event.message, bytes) == jpeg


async def test_delete_dialog_with_revoke(wsim, login):
    a, b, ca, cb = await pair(wsim, login)
    incoming = queue_events(cb, events.NewMessage(incoming=True))
    deleted = queue_events(cb, events.MessageDeleted())
    for i in range(3):
        await ca.send_message("bob_two", f"x{i}")
    await collect(incoming, 3)
    await cb.send_read_acknowledge("alice_one", clear_mentions=True)
    await ca.delete_dialog("bob_two", revoke=True)
    assert sorted((await collect(deleted, 1))[0].deleted_ids) == [1, 2, 3]
    assert wsim.world.messages_between(a, b) == [] and wsim.world.messages_between(b, a) == []
    assert [d.entity.id for d in await ca.get_dialogs()] == []
    await ca.send_message("bob_two", "fresh start")  # the state after deletion is consistent
