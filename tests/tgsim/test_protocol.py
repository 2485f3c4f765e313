"""MTProto behaviour of tgsim as the real Telethon 1.45 client experiences it over TCP."""

from __future__ import annotations

import asyncio

import pytest
from telethon import connection, errors, events
from telethon.sessions import StringSession
from telethon.tl import functions, types

from tests.tgsim.conftest import session_of

# Telethon connection class -> the framing tgsim must detect from its first bytes.
TRANSPORTS = {
    connection.ConnectionTcpFull: "full",
    connection.ConnectionTcpIntermediate: "intermediate",
    connection.ConnectionTcpAbridged: "abridged",
    connection.ConnectionTcpObfuscated: "obfuscated_abridged",
}


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda c: c.__name__)
async def test_each_transport_creates_a_key_and_gets_config(sim, make_client, transport):
    client = make_client(connection=transport)
    await client.connect()
    config = await client(functions.help.GetConfigRequest())

    assert config.this_dc == sim.dc_id
    assert [(o.id, o.ip_address, o.port) for o in config.dc_options] == [(sim.dc_id, "127.0.0.1", sim.port)]
    assert sim.server.stats["auth_keys_created"] == 1
    session = session_of(sim, client)
    assert session.connection.framing.name == TRANSPORTS[transport]
    # Telethon wraps its first request in invokeWithLayer(initConnection(...)); both are remembered.
    assert session.layer == 229 and session.auth_key.layer == 229
    assert session.init["api_id"] == 17349
    assert session.init["device_model"] and session.init["lang_code"] == "en"


@pytest.mark.asyncio
async def test_ping_is_answered_with_pong(make_client):
    client = make_client()
    await client.connect()
    pong = await client(functions.PingRequest(ping_id=987654321))
    assert isinstance(pong, types.Pong) and pong.ping_id == 987654321


@pytest.mark.asyncio
async def test_first_message_earns_bad_server_salt_and_new_session(sim, make_client):
    # Telethon starts with salt 0, so Telegram (and tgsim) answer its first message with the real salt.
    client = make_client()
    await client.connect()
    assert sim.server.stats["bad_server_salt"] == 1
    assert sim.server.stats["new_session_created"] == 1


@pytest.mark.asyncio
async def test_forced_bad_server_salt_is_recovered(sim, make_client):
    client = make_client()
    await client.connect()
    before = sim.server.stats["bad_server_salt"]

    assert sim.faults.bad_salt() == 1
    config = await client(functions.help.GetConfigRequest())

    assert config.this_dc == sim.dc_id
    # Every message already in flight under the old salt (acks too) is rejected, as on Telegram.
    assert sim.server.stats["bad_server_salt"] > before
    assert client._sender._state.salt == session_of(sim, client).auth_key.salt


@pytest.mark.asyncio
async def test_client_clock_ahead_is_corrected_by_bad_msg_notification_17(sim, make_client):
    client = make_client()
    await client.connect()
    client._sender._state.time_offset = 900  # as if the machine's clock were 15 minutes fast

    config = await client(functions.help.GetConfigRequest())

    assert config.this_dc == sim.dc_id
    assert sim.server.stats["bad_msg_17"] >= 1
    assert abs(client._sender._state.time_offset) <= 1


@pytest.mark.asyncio
async def test_client_clock_behind_is_corrected_by_bad_msg_notification_16(sim, make_client):
    # A restored session skips the handshake, which is where Telethon otherwise learns the offset.
    first = make_client(StringSession())
    await first.connect()
    saved = first.session.save()
    await first.disconnect()
    client = make_client(StringSession(saved))
    client._sender._state.time_offset = -900  # 15 minutes slow

    await client.connect()
    config = await client(functions.help.GetConfigRequest())

    assert config.this_dc == sim.dc_id
    assert sim.server.stats["bad_msg_16"] >= 1
    assert abs(client._sender._state.time_offset) <= 1


@pytest.mark.asyncio
async def test_several_requests_travel_in_one_container(sim, make_client):
    client = make_client()
    await client.connect()
    results = await client(
        [functions.PingRequest(1), functions.help.GetNearestDcRequest(), functions.PingRequest(2)]
    )
    assert [type(r) for r in results] == [types.Pong, types.NearestDc, types.Pong]
    assert sim.server.stats["containers_in"] >= 1


@pytest.mark.asyncio
async def test_ordered_requests_use_invoke_after_msg(sim, make_client, handlers):
    order: list[str] = []

    async def slow_nearest(call, req):
        await asyncio.sleep(0.05)  # would finish last if the server ran the batch concurrently
        order.append("nearest")
        return types.NearestDc(country="NL", this_dc=2, nearest_dc=2)

    async def fast_config(call, req):
        order.append("promo")
        return types.help.PromoDataEmpty(expires=None)

    handlers[functions.help.GetNearestDcRequest.CONSTRUCTOR_ID] = slow_nearest
    handlers[functions.help.GetPromoDataRequest.CONSTRUCTOR_ID] = fast_config
    client = make_client()
    await client.connect()
    await client([functions.help.GetNearestDcRequest(), functions.help.GetPromoDataRequest()], ordered=True)
    assert order == ["nearest", "promo"]


@pytest.mark.asyncio
async def test_gzip_both_directions(sim, make_client, handlers):
    async def big_countries(call, req):
        countries = [
            types.help.Country(iso2=f"C{i}", default_name=f"Country number {i}", country_codes=[])
            for i in range(200)
        ]
        return types.help.CountriesList(countries=countries, hash=0)

    handlers[functions.help.GetCountriesListRequest.CONSTRUCTOR_ID] = big_countries
    client = make_client()
    await client.connect()
    # Telethon gzips requests over 512 bytes; the long lang_code makes this one that big.
    result = await client(functions.help.GetCountriesListRequest(lang_code="x" * 2000, hash=0))
    assert len(result.countries) == 200
    assert sim.server.stats["gzip_in"] == 1
    assert sim.server.stats["gzip_out"] == 1


@pytest.mark.asyncio
async def test_unknown_method_is_an_rpc_error_not_a_dropped_connection(sim, make_client):
    client = make_client()
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 42)  # past the sign-in gate
    with pytest.raises(errors.BadRequestError, match="METHOD_NOT_IMPLEMENTED"):
        await client(functions.help.GetSupportRequest())
    assert (await client(functions.help.GetNearestDcRequest())).this_dc == sim.dc_id


@pytest.mark.asyncio
async def test_calls_before_sign_in_are_auth_key_unregistered(make_client):
    client = make_client()
    await client.connect()  # Telethon's get_me() during connect already got a 401 and swallowed it
    assert not await client.is_user_authorized()
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await client(functions.updates.GetStateRequest())


@pytest.mark.asyncio
async def test_destroy_session_of_unknown_id(make_client):
    client = make_client()
    await client.connect()
    result = await client(functions.DestroySessionRequest(session_id=123456789))
    assert isinstance(result, types.DestroySessionNone)


@pytest.mark.asyncio
async def test_auth_key_and_sign_in_survive_a_restarted_client(sim, make_client):
    first = make_client(StringSession())
    await first.connect()
    sim.server.bind_user(session_of(sim, first), 4242)
    saved = first.session.save()
    await first.disconnect()

    second = make_client(StringSession(saved))
    await second.connect()
    await second(functions.help.GetConfigRequest())

    assert sim.server.stats["auth_keys_created"] == 1  # no new handshake
    assert session_of(sim, second).user_id == 4242
    assert sim.server.stats["new_session_created"] == 2  # but a new MTProto session


@pytest.mark.asyncio
async def test_keys_survive_a_server_restart_via_dump_and_load(sim, make_client, handlers):
    from tests.tgsim.conftest import StubWorld
    from tgsim.sim import Simulator

    client = make_client(StringSession())
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 7)
    saved, dumped = client.session.save(), sim.server.dump_keys()
    await client.disconnect()

    async with Simulator(StubWorld(), handlers=handlers, key=sim.server.rsa_key) as restarted:
        restarted.server.load_keys(dumped)
        again = restarted.client(StringSession(saved), flood_sleep_threshold=0)
        try:
            await again.connect()
            await again(functions.help.GetConfigRequest())
            assert restarted.server.stats["auth_keys_created"] == 0
            assert restarted.server.sessions_of(7)[0].user_id == 7
        finally:
            await again.disconnect()


@pytest.mark.asyncio
async def test_push_reaches_the_signed_in_client(sim, make_client):
    client = make_client()
    received: asyncio.Queue = asyncio.Queue()

    async def on_raw(update):
        await received.put(update)

    client.add_event_handler(on_raw, events.Raw(types.UpdateUserStatus))
    await client.connect()
    session = session_of(sim, client)
    sim.server.bind_user(session, 99)
    await client(functions.PingRequest(1))  # let the session be the key's most recent one

    update = types.UpdateShort(
        update=types.UpdateUserStatus(user_id=5, status=types.UserStatusOnline(expires=None)), date=None
    )
    assert sim.server.push(99, update) == 1
    assert sim.server.push(99, update, exclude=session) == 0
    got = await asyncio.wait_for(received.get(), 5)
    assert got.user_id == 5


@pytest.mark.asyncio
async def test_client_without_updates_gets_rpc_pongs_and_no_pushes(sim, make_client):
    # receive_updates=False wraps every request (even ping) in invokeWithoutUpdates.
    client = make_client(receive_updates=False)
    await client.connect()
    pong = await client(functions.PingRequest(ping_id=5))
    assert pong.ping_id == 5
    session = session_of(sim, client)
    assert session.no_updates
    sim.server.bind_user(session, 31)
    update = types.UpdateShort(update=types.UpdateUserStatus(5, types.UserStatusOffline(0)), date=None)
    assert sim.server.push(31, update) == 0


def test_seqno_rules_match_telegram():
    from tgsim.mtproto import ClientSession

    session = ClientSession.__new__(ClientSession)
    session._top_id, session._top_seqno = 0, 0
    ping, ack = functions.PingRequest(1), types.MsgsAck([1])
    assert session._seqno_error(100 << 32, 2, ping) == 34  # content-related needs an odd seqno
    assert session._seqno_error(100 << 32, 1, ack) == 35  # acks need an even one
    session._top_id, session._top_seqno = 100 << 32, 5
    assert session._seqno_error(101 << 32, 3, ping) == 32  # newer message, lower seqno
    assert session._seqno_error(101 << 32, 5, ping) == 32  # newer message, same odd seqno
    assert session._seqno_error(99 << 32, 7, ping) == 33  # older message, higher seqno
    assert session._seqno_error(101 << 32, 7, ping) is None
    assert session._seqno_error(101 << 32, 6, ack) is None


@pytest.mark.asyncio
async def test_slow_requests_are_acknowledged_before_their_result(sim, make_client, handlers):
    release = asyncio.Event()

    async def slow(call, req):
        await release.wait()
        return types.NearestDc(country="NL", this_dc=2, nearest_dc=2)

    handlers[functions.help.GetNearestDcRequest.CONSTRUCTOR_ID] = slow
    client = make_client()
    await client.connect()
    acked: list[int] = []
    original = client._sender._handle_ack

    async def spy(message):
        acked.extend(message.obj.msg_ids)
        await original(message)

    client._sender._handlers[types.MsgsAck.CONSTRUCTOR_ID] = spy
    pending = asyncio.ensure_future(client(functions.help.GetNearestDcRequest()))
    await asyncio.sleep(0.05)
    await client(functions.PingRequest(1))  # something else goes out: the slow call is acked with it
    assert acked
    release.set()
    assert (await pending).this_dc == 2


@pytest.mark.asyncio
async def test_large_pushed_updates_are_gzipped(sim, make_client):
    client = make_client()
    received: asyncio.Queue = asyncio.Queue()

    async def on_raw(update):
        await received.put(update)

    client.add_event_handler(on_raw, events.Raw(types.UpdateUserName))
    await client.connect()
    sim.server.bind_user(session_of(sim, client), 99)
    names = [types.Username(username=f"name_number_{i}", active=True) for i in range(60)]
    update = types.UpdateShort(
        update=types.UpdateUserName(user_id=5, first_name="A", last_name="B", usernames=names), date=None
    )
    assert sim.server.push(99, update) == 1
    got = await asyncio.wait_for(received.get(), 5)
    assert len(got.usernames) == 60
    assert sim.server.stats["gzip_out"] == 1


@pytest.mark.asyncio
async def test_ping_delay_disconnect_closes_a_silent_connection(sim, make_client):
    client = make_client()
    await client.connect()
    pong = await client(functions.PingDelayDisconnectRequest(ping_id=7, disconnect_delay=1))
    assert pong.ping_id == 7
    (conn,) = sim.server.connections
    assert not conn.closed
    await asyncio.sleep(1.2)  # no further ping within disconnect_delay: the server hangs up
    assert conn.closed
    assert (await asyncio.wait_for(client(functions.help.GetConfigRequest()), 10)).this_dc == sim.dc_id
