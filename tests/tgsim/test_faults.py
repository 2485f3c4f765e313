"""Injected faults and limits surface in Telethon exactly as the matching Telegram errors do."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors
from telethon.sessions import StringSession
from telethon.tl import functions, types

from tests.tgsim.conftest import session_of
from tgsim.faults import infer_code

GET_CONFIG = functions.help.GetConfigRequest


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("message", "exc_class"),
    [
        ("FLOOD_WAIT_30", errors.FloodWaitError),
        ("PEER_FLOOD", errors.PeerFloodError),
        ("SLOWMODE_WAIT_10", errors.SlowModeWaitError),
        ("CHAT_WRITE_FORBIDDEN", errors.ChatWriteForbiddenError),
        ("AUTH_KEY_UNREGISTERED", errors.AuthKeyUnregisteredError),
        ("SESSION_REVOKED", errors.SessionRevokedError),
        ("USER_DEACTIVATED_BAN", errors.UserDeactivatedBanError),
        ("AUTH_KEY_DUPLICATED", errors.AuthKeyDuplicatedError),
    ],
)
async def test_injected_error_raises_telethons_class(sim, make_client, message, exc_class):
    client = make_client()
    await client.connect()
    sim.faults.inject(message, method="help.getConfig")

    with pytest.raises(exc_class) as caught:
        await client(GET_CONFIG())
    assert caught.value.code == infer_code(message)
    if message == "FLOOD_WAIT_30":
        assert caught.value.seconds == 30
    if message == "SLOWMODE_WAIT_10":
        assert caught.value.seconds == 10
    # count=1: the next call goes through (Telethon would refuse a flood-waited one locally).
    client._flood_waited_requests.clear()
    assert (await client(GET_CONFIG())).this_dc == sim.dc_id


@pytest.mark.asyncio
async def test_injection_targets_user_and_method(sim, make_client):
    alice, bob = make_client(), make_client()
    await alice.connect()
    await bob.connect()
    sim.server.bind_user(session_of(sim, alice), 1)
    sim.server.bind_user(session_of(sim, bob), 2)
    sim.faults.inject("PEER_FLOOD", user_id=2, method="help.getNearestDc", count=None)

    assert (await alice(functions.help.GetNearestDcRequest())).this_dc == sim.dc_id
    assert (await bob(GET_CONFIG())).this_dc == sim.dc_id
    for _ in range(2):  # count=None: every matching call
        with pytest.raises(errors.PeerFloodError):
            await bob(functions.help.GetNearestDcRequest())
    sim.faults.clear()
    assert (await bob(functions.help.GetNearestDcRequest())).this_dc == sim.dc_id


@pytest.mark.asyncio
async def test_ban_makes_every_signed_in_call_user_deactivated_ban(sim, make_client):
    client = make_client(StringSession())
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 77)
    sim.faults.ban(77)
    with pytest.raises(errors.UserDeactivatedBanError):
        await client(functions.updates.GetStateRequest())
    with pytest.raises(errors.UserDeactivatedBanError):
        await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
    # help.* still answers, so a restarted client connects and finds itself signed out.
    assert (await client(GET_CONFIG())).this_dc == sim.dc_id
    saved = client.session.save()
    await client.disconnect()
    again = make_client(StringSession(saved))
    await again.connect()
    assert not await again.is_user_authorized()


@pytest.mark.asyncio
async def test_revoke_sessions_is_session_revoked_for_that_users_keys_only(sim, make_client):
    victim, other = make_client(), make_client()
    await victim.connect()
    await other.connect()
    sim.server.bind_user(session_of(sim, victim), 5)
    sim.server.bind_user(session_of(sim, other), 6)

    assert sim.faults.revoke_sessions(5) == 1
    with pytest.raises(errors.SessionRevokedError):
        await victim(functions.updates.GetStateRequest())
    assert (await victim(GET_CONFIG())).this_dc == sim.dc_id  # help.* is not refused
    assert (await other(functions.updates.GetStateRequest())).pts == 1
    # Signing in again on the same key clears the revocation.
    sim.server.bind_user(session_of(sim, victim), 5)
    assert (await victim(functions.updates.GetStateRequest())).pts == 1


@pytest.mark.asyncio
async def test_forgotten_key_is_a_transport_404_telethon_reports_as_auth_key_not_found(sim, make_client):
    client = make_client()
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 8)

    assert sim.faults.forget_key(8) == 1
    with pytest.raises(errors.AuthKeyNotFound):
        await client(GET_CONFIG())
    assert sim.server.stats["transport_404"] >= 1
    assert not client.is_connected()  # Telethon gives up on the key, as against Telegram


@pytest.mark.asyncio
async def test_unregistered_key_is_auth_key_unregistered(sim, make_client):
    client = make_client()
    await client.connect()
    session = session_of(sim, client)
    sim.server.bind_user(session, 9)
    await client(functions.updates.GetStateRequest())

    assert sim.faults.forget_key(session.auth_key_id, mode="unregistered") == 1
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await client(functions.updates.GetStateRequest())
    assert not await client.is_user_authorized()


@pytest.mark.asyncio
async def test_same_key_on_two_live_connections_is_auth_key_duplicated(sim, make_client):
    first = make_client(StringSession())
    await first.connect()
    await first(GET_CONFIG())  # first is live and active
    second = make_client(StringSession(first.session.save()))

    with pytest.raises(errors.AuthKeyDuplicatedError):
        await second.connect()  # its initConnection is refused
    # Telegram never accepts the key again, on either connection.
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await first(GET_CONFIG())


@pytest.mark.asyncio
async def test_an_idle_connection_is_taken_over_not_duplicated(sim, make_client):
    sim.faults.duplicate_window = 0.05  # the first client's socket counts as stale after 50 ms
    first = make_client(StringSession(), auto_reconnect=False)
    await first.connect()
    old_connections = set(sim.server.connections)
    await asyncio.sleep(0.1)

    second = make_client(StringSession(first.session.save()))
    await second.connect()
    assert (await second(GET_CONFIG())).this_dc == sim.dc_id
    assert all(conn.closed for conn in old_connections)


@pytest.mark.asyncio
async def test_drop_connections_and_telethon_reconnects_by_itself(sim, make_client):
    client = make_client(retry_delay=0)
    await client.connect()
    await client(GET_CONFIG())
    assert sim.server.stats["connections"] == 1

    assert sim.faults.drop_connections() == 1
    config = await asyncio.wait_for(client(GET_CONFIG()), 10)

    assert config.this_dc == sim.dc_id
    assert sim.server.stats["connections"] == 2
    assert sim.server.stats["auth_keys_created"] == 1  # same key, new connection and session


@pytest.mark.asyncio
async def test_drop_connections_of_one_user(sim, make_client):
    a, b = make_client(), make_client()
    await a.connect()
    await b.connect()
    sim.server.bind_user(session_of(sim, a), 11)
    assert sim.faults.drop_connections(user_id=11) == 1
    assert sim.faults.drop_connections(user_id=12) == 0


@pytest.mark.asyncio
async def test_latency_delays_calls(sim, make_client):
    client = make_client()
    await client.connect()
    sim.faults.latency(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client(GET_CONFIG())
    assert loop.time() - started >= 0.2


@pytest.mark.asyncio
async def test_flood_burst_earns_flood_wait_with_the_configured_seconds(sim, make_client):
    sim.limits.enabled = True  # the server reads this same Limits object on every call
    sim.limits.bursts = {"help.getNearestDc": (3, 60.0, 45)}
    client = make_client()
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 3)
    for _ in range(3):
        await client(functions.help.GetNearestDcRequest())
    with pytest.raises(errors.FloodWaitError) as caught:
        await client(functions.help.GetNearestDcRequest())
    assert caught.value.seconds == 45
    # Telethon remembers the wait and refuses locally; the server keeps refusing too.
    client._flood_waited_requests.clear()
    with pytest.raises(errors.FloodWaitError) as again:
        await client(functions.help.GetNearestDcRequest())
    assert 44 <= again.value.seconds <= 45


def test_error_codes_are_inferred_like_telegram():
    assert infer_code("FLOOD_WAIT_5") == 420
    assert infer_code("SLOWMODE_WAIT_5") == 420
    assert infer_code("PEER_FLOOD") == 400
    assert infer_code("AUTH_KEY_UNREGISTERED") == 401
    assert infer_code("SESSION_REVOKED") == 401
    assert infer_code("USER_DEACTIVATED_BAN") == 401
    assert infer_code("AUTH_KEY_DUPLICATED") == 406
    assert infer_code("CHAT_WRITE_FORBIDDEN") == 403
