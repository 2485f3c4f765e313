"""Fixtures for tgsim protocol tests: a Simulator on a free port in the test's own event loop, with a
stub world and only the protocol layer's own handlers, so these tests do not depend on the world model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from telethon import TelegramClient
from telethon.tl import functions, types

from tgsim import rpc
from tgsim.handlers import help as help_handlers
from tgsim.limits import Limits
from tgsim.sim import Simulator


class StubWorld:
    """Just enough world for the protocol layer: it is attached to the server and otherwise unused."""

    server = None

    def attach(self, server: object) -> None:
        self.server = server


async def _get_users(call: rpc.Call, req: object) -> list[types.User]:
    # Telethon's connect() asks for itself once signed in; the stub world knows nobody else.
    uid = call.require_user()
    return [types.User(id=uid, is_self=True, access_hash=1, first_name=f"User {uid}")]


async def _get_state(call: rpc.Call, req: object) -> types.updates.State:
    call.require_user()
    return types.updates.State(pts=1, qts=0, date=datetime.now(UTC), seq=0, unread_count=0)


async def _get_difference(call: rpc.Call, req: object) -> types.updates.DifferenceEmpty:
    call.require_user()
    return types.updates.DifferenceEmpty(date=datetime.now(UTC), seq=0)


def protocol_handlers() -> dict[int, rpc.Handler]:
    """help.* from the protocol layer plus the three calls Telethon makes on connecting signed in."""
    table = {cid: fn for cid, fn in rpc.HANDLERS.items() if fn.__module__ == help_handlers.__name__}
    table[functions.users.GetUsersRequest.CONSTRUCTOR_ID] = _get_users
    table[functions.updates.GetStateRequest.CONSTRUCTOR_ID] = _get_state
    table[functions.updates.GetDifferenceRequest.CONSTRUCTOR_ID] = _get_difference
    return table


@pytest.fixture
def handlers() -> dict[int, rpc.Handler]:
    """The handler table the simulator uses; tests may add to it before the first call."""
    return protocol_handlers()


@pytest.fixture
def limits() -> Limits:
    return Limits(enabled=False)


@pytest_asyncio.fixture
async def sim(handlers: dict[int, rpc.Handler], limits: Limits) -> AsyncIterator[Simulator]:
    async with Simulator(StubWorld(), handlers=handlers, limits=limits) as simulator:
        yield simulator


@pytest_asyncio.fixture
async def make_client(sim: Simulator) -> AsyncIterator[Callable[..., TelegramClient]]:
    """Build Telethon clients for `sim` (FLOOD_WAITs raise instead of sleeping); all are disconnected
    at teardown."""
    made: list[TelegramClient] = []

    def make(session: object = None, **kw: object) -> TelegramClient:
        kw.setdefault("flood_sleep_threshold", 0)
        kw.setdefault("request_retries", 1)
        kw.setdefault("retry_delay", 0)
        client = sim.client(session, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.disconnect()


def session_of(sim: Simulator, client: TelegramClient):
    """The server-side ClientSession a connected Telethon client is using."""
    key_id = client.session.auth_key.key_id
    state_id = client._sender._state.id
    return sim.server.keys[key_id].sessions[state_id]


# World/handler tests (test_auth, test_messages, ...) use a Simulator with the real World; their fixtures
# live in worldkit.py and are re-exported here so pytest finds them.
from tests.tgsim.worldkit import login, wsim  # noqa: E402, F401
