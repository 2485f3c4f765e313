"""Property test of the pts bookkeeping, without the network: random traffic between a few users goes
through the world's operations, every push is fed to Telethon's own MessageBox, and the box must apply
all of them in order (no gap) and end at the server's pts; getDifference from the start must replay
every surviving message."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from hypothesis import example, given, settings
from hypothesis import strategies as st
from telethon._updates import EntityCache, MessageBox, SessionState
from telethon._updates.messagebox import ENTRY_ACCOUNT
from telethon.tl import types

from tgsim import channelops, chatops, groupops, updates
from tgsim.world import World

USERS = 3
ops = st.lists(
    st.tuples(
        st.sampled_from(["send", "edit", "delete", "read", "group", "basic", "read_basic"]),
        st.integers(0, USERS - 1),
        st.integers(0, USERS - 1),
        st.integers(0, 50),
    ),
    max_size=40,
)


class Recorder:
    def __init__(self) -> None:
        self.pushed: dict[int, list] = defaultdict(list)

    def is_online(self, user_id: int) -> bool:
        return True

    def push(self, user_id: int, update: object, *, exclude: object = None) -> None:
        self.pushed[user_id].append(update)


def run(world: World, gid: int, basic: int, script: list) -> None:
    ids = sorted(world.users)
    for op, i, j, n in script:
        a, b = ids[i], ids[j]
        user = world.users[a]
        if op == "send":
            chatops.send(world, a, b, f"m{n}")
        elif op == "group":
            channelops.post(world, world.channels[gid], a, f"g{n}")
        elif op == "basic":
            groupops.post(world, world.chats[basic], a, f"b{n}")
        elif op == "read_basic":
            chatops.read(world, a, basic, 0)
        elif op == "edit" and user.box:
            mine = [m for m in user.box.values() if m.out]
            if mine:
                msg = mine[n % len(mine)]
                chatops.edit(world, a, msg.id, msg.text + "!")
        elif op == "delete" and user.box:
            chatops.delete(world, a, [sorted(user.box)[n % len(user.box)]], revoke=bool(n % 2))
        elif op == "read":
            chatops.read(world, a, b, 0)


@settings(max_examples=60, deadline=None)
@given(ops)
@example(
    [
        ("send", 0, 1, 1),
        ("edit", 0, 1, 0),
        ("group", 2, 0, 0),
        ("read", 1, 0, 0),
        ("send", 1, 0, 3),
        ("delete", 1, 0, 1),
        ("send", 2, 2, 4),
        ("edit", 2, 2, 0),
        ("delete", 0, 1, 2),
        ("basic", 1, 0, 5),
        ("read_basic", 2, 0, 0),
        ("edit", 1, 0, 9),
        ("delete", 1, 0, 1),
    ]
)
def test_pushes_apply_without_gaps_and_difference_replays(script):
    asyncio.run(_check(script))


async def _check(script) -> None:
    world = World(seed=0)
    recorder = Recorder()
    world.net.server = recorder
    for n in range(USERS):
        world.create_user(f"99966290{n:02d}", f"U{n}")
    ids = sorted(world.users)
    gid = world.create_group("G", ids[0], members=ids[1:])
    basic = world.create_group("B", ids[0], members=ids[1:], megagroup=False)
    start = {uid: world.users[uid].pts for uid in ids}
    channel_start = world.channels[gid].pts
    run(world, gid, basic, script)

    for uid in ids:
        box = MessageBox(logging.getLogger("test.messagebox"))
        box.load(SessionState(0, 0, 0, start[uid], 0, 0, 0, 0), [])
        box.try_set_channel_state(gid, channel_start)
        for pushed in recorder.pushed[uid]:
            box.process_updates(pushed, EntityCache(), [])  # raises GapError on a seq gap
        assert not box.possible_gaps, f"user {uid} saw a pts gap"
        assert box.map[ENTRY_ACCOUNT].pts == world.users[uid].pts
        if gid in box.map:
            assert box.map[gid].pts == world.channels[gid].pts

        diff = updates.difference(world, uid, start[uid], 0)
        if world.users[uid].pts == start[uid]:
            continue
        assert isinstance(diff, types.updates.Difference)
        replayed = sorted(m.id for m in diff.new_messages)
        assert replayed == sorted(world.users[uid].box)
