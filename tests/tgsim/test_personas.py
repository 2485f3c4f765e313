"""Scripted users answer (or don't) like people, through the same update path as real messages."""

from __future__ import annotations

import asyncio

import pytest
from telethon import events

from tests.tgsim.worldkit import collect, user

pytestmark = pytest.mark.asyncio


def queue_new(client) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()

    async def put(event):
        queue.put_nowait(event)

    client.add_event_handler(put, events.NewMessage(incoming=True))
    return queue


async def test_persona_replies_after_a_delay(wsim, login):
    world = wsim.world
    me, bot = user(world, "outreach_olga"), user(world, "persona_pete")
    world.set_persona(bot, reply_probability=1.0, delay_min=0.05, delay_max=0.1, texts=["Who is this?"])
    client = await login(world.users[me].phone)
    replies = queue_new(client)
    await client.send_message("persona_pete", "Hi Pete, got a minute?")
    reply = (await collect(replies, 1, timeout=3))[0]
    assert (reply.raw_text, reply.sender_id) == ("Who is this?", bot)
    assert [m["text"] for m in world.messages_between(me, bot)] == ["Hi Pete, got a minute?", "Who is this?"]


async def test_persona_answers_a_burst_once(wsim, login):
    world = wsim.world
    me, bot = user(world, "chatty_chad"), user(world, "persona_paula")
    world.set_persona(bot, reply_probability=1.0, delay_min=0.1, delay_max=0.15, texts=["ok"])
    client = await login(world.users[me].phone)
    replies = queue_new(client)
    for line in ("hey", "are you there?", "quick question"):
        await client.send_message("persona_paula", line)
    await collect(replies, 1, timeout=3)
    await asyncio.sleep(0.4)
    assert replies.empty()


async def test_silent_persona_never_answers(wsim, login):
    world = wsim.world
    me, bot = user(world, "outreach_oleg"), user(world, "persona_silent")
    world.set_persona(bot, reply_probability=0.0, delay_min=0.01, delay_max=0.02)
    client = await login(world.users[me].phone)
    replies = queue_new(client)
    await client.send_message("persona_silent", "hello?")
    await asyncio.sleep(0.3)
    assert replies.empty()


async def test_persona_writes_first(wsim, login):
    world = wsim.world
    me, lead = user(world, "sales_sam"), user(world, "eager_lead")
    client = await login(world.users[me].phone)
    incoming = queue_new(client)
    world.set_persona(
        lead,
        reply_probability=0.0,
        delay_min=0.05,
        delay_max=0.1,
        texts=["Is this available?"],
        writes_first=[me],
    )
    first = (await collect(incoming, 1, timeout=3))[0]
    assert (first.raw_text, first.sender_id) == ("Is this available?", lead)
