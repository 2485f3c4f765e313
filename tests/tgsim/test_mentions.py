"""Telegram's ``mentioned`` flag: set for the viewer on a message that mentions them (an @username
entity or a mention by name) and on a reply to their own message, which is why Switchboard's policies
never read it. Mentions by name arrive as messageEntityMentionName with the plain user id."""

from __future__ import annotations

import asyncio

import pytest
from telethon import events
from telethon.tl import types

from tests.tgsim.worldkit import collect, user

pytestmark = pytest.mark.asyncio


def queue(client, builder) -> asyncio.Queue:
    found: asyncio.Queue = asyncio.Queue()

    async def put(event):
        found.put_nowait(event)

    client.add_event_handler(put, builder)
    return found


@pytest.mark.parametrize("megagroup", [False, True])
async def test_replies_and_mentions_flag_the_viewer_they_concern(wsim, login, megagroup):
    world = wsim.world
    ann, ben, cat = (
        user(world, f"mann{int(megagroup)}"),
        user(world, f"mben{int(megagroup)}"),
        user(world, f"mcat{int(megagroup)}"),
    )
    gid = world.create_group("Mentions", ann, members=[ben, cat], megagroup=megagroup)
    ca, cb, cc = [await login(world.users[u].phone) for u in (ann, ben, cat)]
    for client in (ca, cb, cc):
        await client.get_dialogs()  # learns the supergroup's access_hash
    chat = await ca.get_input_entity(types.PeerChannel(gid) if megagroup else types.PeerChat(gid))
    to_ann, to_cat = queue(ca, events.NewMessage(incoming=True)), queue(cc, events.NewMessage(incoming=True))

    mine = await ca.send_message(chat, "who wants the room?")
    await collect(to_cat, 1)
    ben_chat = await cb.get_input_entity(types.PeerChannel(gid) if megagroup else types.PeerChat(gid))
    ben_copy = (await cb.get_messages(ben_chat, limit=1))[0]
    assert ben_copy.text == "who wants the room?" and not ben_copy.mentioned

    await cb.send_message(ben_chat, "me!", reply_to=ben_copy.id)
    reply_for_ann, reply_for_cat = (await collect(to_ann, 1))[0], (await collect(to_cat, 1))[0]
    assert reply_for_ann.message.reply_to.reply_to_msg_id == mine.id
    assert reply_for_ann.message.mentioned is True  # a reply to Ann's message: Ann is "mentioned"
    assert not reply_for_cat.message.mentioned

    text = f"@{world.users[cat].username.upper()} and you?"
    await cb.send_message(ben_chat, text, formatting_entities=[types.MessageEntityMention(0, len(text) - 9)])
    for_cat, for_ann = (await collect(to_cat, 1))[0], (await collect(to_ann, 1))[0]
    assert for_cat.message.mentioned is True and not for_ann.message.mentioned

    await cb.send_message(ben_chat, f"[Ann](tg://user?id={ann}) decides", parse_mode="md")
    by_name = (await collect(to_ann, 1))[0].message
    assert by_name.mentioned is True
    assert by_name.entities == [types.MessageEntityMentionName(offset=0, length=3, user_id=ann)]
    assert not (await collect(to_cat, 1))[0].message.mentioned
