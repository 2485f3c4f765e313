"""A command whose connection goes away under it goes back to its queue: it neither fails as "something
went wrong" nor is acked (found by the chaos run, docs/chaos.md). The end-to-end case, a connection
tgsim drops under a send, is in test_recovery_flows.py; these reach the gaps a real drop hits only by
timing: the client discarded by a reconnect while the command ran, and requests Telethon cancels."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from accounts import leases
from accounts.host import commands
from accounts.host.errors import Paused
from accounts.host.hosted import Hosted
from accounts.leases import Grant


def held(client: object) -> tuple[SimpleNamespace, Hosted]:
    hosted = Hosted(grant=Grant(account_id=7, token=1), lease_deadline=time.monotonic() + 60)
    hosted.client = client  # type: ignore[assignment]
    hosted.authorized = True
    hosted.ready.set()
    return SimpleNamespace(name="h", accounts={7: hosted}), hosted


def spec(body) -> SimpleNamespace:
    return SimpleNamespace(name="test.command", body=body, login=True, budget=None)


@pytest.fixture(autouse=True)
def lease_is_current(monkeypatch):
    monkeypatch.setattr(leases, "is_current", lambda **kwargs: True)


def run(host: SimpleNamespace, body) -> object:
    return asyncio.run(commands.execute(host, spec(body), account_id=7, params=None))


def test_a_body_that_meets_its_discarded_client_goes_back_to_the_queue():
    host, _ = held(SimpleNamespace())

    async def body(hosted, params):
        hosted.client = None  # the connection dropped; the host discarded the client meanwhile
        return await hosted.client.get_me()  # AttributeError on None

    with pytest.raises(Paused):
        run(host, body)


def test_a_command_whose_client_was_discarded_while_its_checks_ran_goes_back_to_the_queue(monkeypatch):
    # Handed out while ready; the connection dropped before the body started (the lease check waits
    # on the database), and the reconnect has discarded the client.
    host, hosted = held(SimpleNamespace())
    ran = []

    def is_current(**kwargs) -> bool:
        hosted.ready.clear()
        hosted.client = None
        return True

    async def body(hosted, params):
        ran.append(hosted.client)

    monkeypatch.setattr(leases, "is_current", is_current)
    with pytest.raises(Paused):
        run(host, body)
    assert ran == []


def test_a_request_telethon_cancels_on_disconnect_goes_back_to_the_queue():
    host, _ = held(SimpleNamespace())

    async def body(hosted, params):
        request = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(request.cancel)  # what Telethon's disconnect() does
        return await request

    with pytest.raises(Paused):
        run(host, body)


def test_a_command_cancelled_itself_stays_cancelled():
    host, _ = held(SimpleNamespace())

    async def body(hosted, params):
        await asyncio.sleep(60)

    async def cancelled() -> None:
        task = asyncio.ensure_future(commands.execute(host, spec(body), account_id=7, params=None))
        await asyncio.sleep(0.05)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())


def test_an_error_of_the_command_itself_is_not_mistaken_for_a_dropped_connection():
    host, _ = held(SimpleNamespace())

    async def body(hosted, params):
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        run(host, body)
