"""The world on its own: demo building, save/load, control API answers."""

from __future__ import annotations

import time

import pytest

from tgsim.access import access_hash
from tgsim.demo import DEMO_PASSWORD, build_demo
from tgsim.limits import Limits
from tgsim.sim import Simulator
from tgsim.world import World


def test_demo_world_builds_fast_and_saves(tmp_path):
    started = time.monotonic()
    world = World(seed=1)
    summary = build_demo(world)
    assert time.monotonic() - started < 5
    assert summary["personas"] == 300 and summary["users"] > 12_000
    supergroups = [world.channels[g] for g in summary["group_ids"].values() if g in world.channels]
    sizes = sorted(len(g.members) for g in supergroups)
    assert sizes[0] == 500 and sizes[-1] == 12_000
    assert sum(g.hidden_members for g in supergroups) == 1
    assert len(world.chats[summary["group_ids"]["Book Club"]].members) == 40
    assert [a["password"] for a in summary["demo_accounts"]].count(DEMO_PASSWORD) == 1

    info = world.save(str(tmp_path / "world.pickle"))
    assert info["users"] == summary["users"]
    loaded = World.load(str(tmp_path / "world.pickle"))
    assert loaded.stats() == world.stats()
    assert loaded.secret == world.secret  # access hashes survive a restart
    assert access_hash(loaded.secret, 1, 2) == access_hash(world.secret, 1, 2)


def test_control_api_is_json_friendly():
    import json

    world = World(seed=2)
    a = world.create_user("+99966 2 9001", "Ann", username="ann_json")
    b = world.create_user("9996629002", "Ben")
    gid = world.create_group("G", a, members=[b])
    world.say(a, to_user_id=b, text="hi")
    world.say(b, to_chat_id=gid, text="in group")
    for result in (
        world.user_by_phone("9996629001"),
        world.messages_between(a, b),
        world.stats(),
        world.channel_messages(gid),
        world.dialog_state(b, a),
        world.user_by_username("@ann_json"),
    ):
        json.dumps(result)
    assert world.user_by_phone("9996629001")["id"] == a
    assert world.dialog_state(b, a)["unread_count"] == 1
    with pytest.raises(ValueError):
        world.create_user("9996629001", "Dup")


@pytest.mark.asyncio
async def test_demo_accounts_log_in_after_reload(tmp_path):
    world = World(seed=3)
    build_demo(world, personas=20, seed_posts=2)
    world.save(str(tmp_path / "w.pickle"))
    async with Simulator(World.load(str(tmp_path / "w.pickle")), limits=Limits(enabled=False)) as sim:
        client = sim.client(request_retries=1)
        try:
            await client.start(phone="9996620005", code_callback=lambda: "22222", password=DEMO_PASSWORD)
            dialogs = await client.get_dialogs()
            assert dialogs == []  # demo operators start with an empty inbox
            assert (await client.get_entity("switchboard_news")).broadcast
        finally:
            await client.disconnect()


def test_the_demo_world_has_spare_numbers_and_a_reloaded_old_world_gets_them(tmp_path):
    from tgsim.demo import SPARE_PHONES, ensure_spares

    world = World(seed=4)
    summary = build_demo(world, personas=20, seed_posts=2)
    assert summary["spare_phones"] == SPARE_PHONES
    onboarded = {"9996620001", "9996620002", "9996620003", "9996620005"}  # manage.py demo_accounts
    assert not onboarded & set(SPARE_PHONES)
    for phone in SPARE_PHONES:
        user = world.user_by_phone(phone)
        assert user is not None and world.users[user["id"]].password is None
    # A world saved before the spares existed gets them on load, once.
    old = World(seed=5)
    old.create_user("9996620001", "Demo1", "Operator")
    assert ensure_spares(old) == SPARE_PHONES and ensure_spares(old) == SPARE_PHONES
    assert sum(1 for p in SPARE_PHONES if old.user_by_phone(p)) == len(SPARE_PHONES)
    assert old.user_by_phone("9996621234") is None  # any other number stays unregistered
