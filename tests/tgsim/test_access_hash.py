"""access_hash is per viewer: a hash another account obtained is rejected the way Telegram rejects it."""

from __future__ import annotations

import pytest
from telethon import errors
from telethon.tl import functions, types

from tests.tgsim.worldkit import user

pytestmark = pytest.mark.asyncio


async def test_hash_from_one_account_fails_for_another(wsim, login):
    world = wsim.world
    a, b, target = user(world, "hash_alice"), user(world, "hash_bob"), user(world, "hash_target")
    gid = world.create_channel("Hashes", a, username="hash_chan")
    ca = await login(world.users[a].phone)
    cb = await login(world.users[b].phone)

    seen_by_a = await ca.get_input_entity("hash_target")
    seen_by_b = await cb.get_input_entity("hash_target")
    assert seen_by_a.user_id == seen_by_b.user_id == target
    assert seen_by_a.access_hash != seen_by_b.access_hash
    assert (await ca.get_input_entity("hash_target")).access_hash == seen_by_a.access_hash  # stable

    stolen = types.InputPeerUser(target, seen_by_a.access_hash)
    with pytest.raises(errors.PeerIdInvalidError):
        await cb(functions.messages.SendMessageRequest(peer=stolen, message="hi", random_id=1))
    with pytest.raises(errors.UserIdInvalidError):
        await cb(functions.users.GetFullUserRequest(types.InputUser(target, seen_by_a.access_hash)))
    assert await cb(functions.users.GetUsersRequest([types.InputUser(target, seen_by_a.access_hash)])) == []

    channel_a = await ca.get_input_entity("hash_chan")
    with pytest.raises(errors.ChannelInvalidError):
        await cb(
            functions.channels.GetFullChannelRequest(
                types.InputChannel(channel_a.channel_id, channel_a.access_hash)
            )
        )
    assert channel_a.channel_id == gid

    # With its own hash B gets through.
    await cb.send_message(seen_by_b, "hello with my own hash")
    assert world.messages_between(target, b)[0]["text"] == "hello with my own hash"
