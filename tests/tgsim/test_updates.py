"""Live pushes and catching up: pts sequences Telethon's MessageBox accepts, getDifference (with slices)
and getChannelDifference."""

from __future__ import annotations

import asyncio

import pytest
from telethon import events, utils
from telethon.tl import functions, types

from tests.tgsim.worldkit import collect, user
from tgsim import updates as tg_updates

pytestmark = pytest.mark.asyncio


def queue_new(client) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()

    async def put(event):
        queue.put_nowait(event)

    client.add_event_handler(put, events.NewMessage(incoming=True))
    return queue


async def offline_burst(wsim, login, count: int) -> list[str]:
    world = wsim.world
    a, b = user(world, "sender_sue"), user(world, "offline_olly")
    cb = await login(world.users[b].phone, catch_up=True)
    await cb.get_dialogs()
    await cb.disconnect()
    texts = [f"while you were away #{i}" for i in range(count)]
    for text in texts:
        world.say(a, to_user_id=b, text=text)
    queue = queue_new(cb)
    await cb.connect()
    got = await collect(queue, count, timeout=10)
    await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive now
    assert queue.empty()
    return [e.raw_text for e in got], texts


async def test_catch_up_after_offline_gets_every_message_once(wsim, login):
    got, texts = await offline_burst(wsim, login, 100)
    assert sorted(got) == sorted(texts) and len(set(got)) == 100


async def test_catch_up_over_several_difference_slices(wsim, login, monkeypatch):
    monkeypatch.setattr(tg_updates, "DIFF_SLICE", 30)
    got, texts = await offline_burst(wsim, login, 100)
    assert sorted(got) == sorted(texts)


async def test_difference_pages_and_states(wsim, login):
    world = wsim.world
    a, b = user(world, "pager_pat"), user(world, "reader_rob")
    cb = await login(world.users[b].phone)
    state = await cb(functions.updates.GetStateRequest())
    for i in range(250):
        world.say(a, to_user_id=b, text=f"n{i}")
    first = await cb(functions.updates.GetDifferenceRequest(pts=state.pts, date=state.date, qts=0))
    assert isinstance(first, types.updates.DifferenceSlice) and len(first.new_messages) == 100
    assert first.intermediate_state.pts == state.pts + 100
    second = await cb(
        functions.updates.GetDifferenceRequest(pts=first.intermediate_state.pts, date=state.date, qts=0)
    )
    assert isinstance(second, types.updates.DifferenceSlice) and len(second.new_messages) == 100
    rest = await cb(
        functions.updates.GetDifferenceRequest(pts=second.intermediate_state.pts, date=state.date, qts=0)
    )
    assert isinstance(rest, types.updates.Difference) and len(rest.new_messages) == 50
    texts = [m.message for m in first.new_messages + second.new_messages + rest.new_messages]
    assert texts == [f"n{i}" for i in range(250)]
    empty = await cb(functions.updates.GetDifferenceRequest(pts=rest.state.pts, date=rest.state.date, qts=0))
    assert isinstance(empty, types.updates.DifferenceEmpty)


async def test_live_updates_need_no_gap_recovery(wsim, login):
    """Interleaved sends both ways plus reads and edits: every push applies in order, so the client never
    has to call getDifference."""
    world = wsim.world
    a, b = user(world, "ping_pam"), user(world, "pong_pete")
    ca = await login(world.users[a].phone)
    cb = await login(world.users[b].phone)
    calls = []
    original = wsim.server.call

    async def spy(session, request):
        calls.append(type(request).__name__)
        return await original(session, request)

    wsim.server.call = spy
    qa, qb = queue_new(ca), queue_new(cb)
    for i in range(10):
        await ca.send_message("pong_pete", f"a{i}")
        await cb.send_message("ping_pam", f"b{i}")
    await collect(qa, 10)
    await collect(qb, 10)
    await cb.send_read_acknowledge("ping_pam")
    msg = await ca.send_message("pong_pete", "typo")
    await ca.edit_message("pong_pete", msg.id, "fixed")
    gid = world.create_group("Gapless", a, members=[b], username="gapless_grp")
    for i in range(5):
        await ca.send_message("gapless_grp", f"ga{i}")
        await cb.send_message("gapless_grp", f"gb{i}")
        world.say(a, to_chat_id=gid, text=f"gc{i}")
    await cb.send_read_acknowledge("gapless_grp")
    await asyncio.sleep(0.8)  # past Telethon's 0.5 s possible-gap timeout
    assert "SendMessageRequest" in calls  # the spy sees requests...
    assert "GetDifferenceRequest" not in calls  # ...and none of them was gap recovery
    assert "GetChannelDifferenceRequest" not in calls


async def test_channel_catch_up_through_channel_difference(wsim, login):
    world = wsim.world
    owner, member = user(world, "group_owner"), user(world, "group_member")
    gid = world.create_group("Catch-up Club", owner, members=[member])
    cm = await login(world.users[member].phone, catch_up=True)
    await cm.get_dialogs()  # registers the channel's pts in the MessageBox
    queue = queue_new(cm)
    world.say(owner, to_chat_id=gid, text="live one")
    assert (await collect(queue, 1))[0].raw_text == "live one"
    await cm.disconnect()
    for i in range(20):
        world.say(owner, to_chat_id=gid, text=f"missed {i}")
    await cm.connect()
    got = await collect(queue, 20, timeout=10)
    assert sorted(e.raw_text for e in got) == sorted(f"missed {i}" for i in range(20))
    assert all(e.chat_id == utils.get_peer_id(types.PeerChannel(gid)) for e in got)


async def test_too_far_behind_is_difference_too_long(monkeypatch):
    from tgsim.world import World

    world = World(seed=5)
    a, b = world.create_user("9996627001", "A"), world.create_user("9996627002", "B")
    gid = world.create_group("G", a, members=[b])
    start, channel_start = world.users[b].pts, world.channels[gid].pts
    for i in range(20):
        world.say(a, to_user_id=b, text=f"p{i}")
        world.say(a, to_chat_id=gid, text=f"c{i}")
    monkeypatch.setattr(tg_updates, "TOO_LONG", 10)
    monkeypatch.setattr(tg_updates, "CHANNEL_TOO_LONG", 10)
    diff = tg_updates.difference(world, b, start, 0)
    assert isinstance(diff, types.updates.DifferenceTooLong) and diff.pts == world.users[b].pts
    channel = world.channels[gid]
    too_long = tg_updates.channel_difference(world, b, channel, channel_start, 5)
    assert isinstance(too_long, types.updates.ChannelDifferenceTooLong)
    assert [m.message for m in too_long.messages] == [f"c{i}" for i in range(15, 20)]
    assert too_long.dialog.pts == channel.pts
    monkeypatch.setattr(tg_updates, "CHANNEL_TOO_LONG", 1000)
    page = tg_updates.channel_difference(world, b, channel, channel_start, 5)
    assert isinstance(page, types.updates.ChannelDifference) and not page.final
    assert [m.message for m in page.new_messages] == [f"c{i}" for i in range(5)]


async def test_restarted_worker_with_sqlite_session_catches_up(wsim, login, tmp_path):
    """A worker process restarts with its session file: the saved pts lets a brand-new client fetch
    exactly what arrived in between."""
    from telethon.sessions import SQLiteSession

    world = wsim.world
    a, b = user(world, "steady_sender"), user(world, "restarting_rick")
    path = str(tmp_path / "rick")
    first = await login(world.users[b].phone, session=SQLiteSession(path))
    await first.get_dialogs()
    await first.disconnect()
    first.session.close()
    for i in range(30):
        world.say(a, to_user_id=b, text=f"queued {i}")
    second = wsim.client(SQLiteSession(path), catch_up=True, request_retries=1)
    queue = queue_new(second)
    await second.connect()
    try:
        got = await collect(queue, 30, timeout=10)
        await asyncio.sleep(0.3)
        assert queue.empty()
        assert sorted(e.raw_text for e in got) == sorted(f"queued {i}" for i in range(30))
    finally:
        await second.disconnect()
