"""One task pings every client of a host once a minute, instead of a Telethon task per client."""

from __future__ import annotations

import asyncio

import pytest

from accounts.host import keepalive
from accounts.host.hosted import Hosted
from accounts.leases import Grant
from accounts.telegram import internals


class Client:
    """Stands in for a Telethon client: the keepalive only asks whether it is connected."""

    def __init__(self) -> None:
        self.connected = True

    def is_connected(self) -> bool:
        return self.connected


@pytest.fixture
def pings(monkeypatch) -> list[Client]:
    sent: list[Client] = []
    monkeypatch.setattr(internals, "stop_keepalive", lambda client: None)
    monkeypatch.setattr(internals, "keepalive_ping", sent.append)
    return sent


def hosted(n: int) -> Hosted:
    account = Hosted(grant=Grant(account_id=n, token=1), lease_deadline=0.0)
    account.client = Client()  # type: ignore[assignment]
    return account


def run_seconds(wheel: keepalive.Keepalive, start: float, seconds: int) -> list[int]:
    """Wake the keepalive once a second, as its task does; how many it pinged at each wake."""
    return [wheel.ping_due(start + s) for s in range(seconds + 1)]


def test_each_client_is_pinged_a_minute_after_it_is_ready_and_then_once_a_minute(pings):
    wheel = keepalive.Keepalive()
    account = hosted(1)
    wheel.add(account, now=1000.0)

    run_seconds(wheel, 1000.0, 58)
    assert pings == []  # not before its minute
    run_seconds(wheel, 1059.0, 1)
    assert pings == [account.client]
    run_seconds(wheel, 1061.0, 5 * 60 - 1)
    assert len(pings) == 1 + 5  # and never more often than once a minute


def test_pings_of_many_clients_are_spread_over_the_minute_a_slice_per_wake(pings):
    wheel = keepalive.Keepalive()
    for n in range(6000):
        wheel.add(hosted(n), now=2000.0 + n / 100)  # ready over a minute

    per_wake = run_seconds(wheel, 2060.0, 59)

    assert sum(per_wake) == 6000  # each exactly once in that minute
    assert max(per_wake) <= 100  # a second's worth per wake, never thousands in one turn of the loop


def test_a_replaced_lost_or_disconnected_client_is_no_longer_pinged(pings):
    wheel = keepalive.Keepalive()
    replaced, lost, gone, kept = hosted(1), hosted(2), hosted(3), hosted(4)
    for account in (replaced, lost, gone, kept):
        wheel.add(account, now=0.0)
    old_client = replaced.client
    replaced.client = Client()  # type: ignore[assignment]  # reconnected: a fresh client, added when ready
    lost.lost = True
    gone.client.connected = False  # type: ignore[union-attr]

    run_seconds(wheel, 0.0, 3 * 60)

    assert old_client not in pings
    assert pings == [kept.client] * 3


def test_a_late_loop_catches_up_every_slot_it_missed(pings):
    wheel = keepalive.Keepalive()
    for n in range(10):
        wheel.add(hosted(n), now=100.0 + n)
    wheel.ping_due(100.0)

    assert wheel.ping_due(100.0 + 60 + 9.5) == 10  # one wake, ten seconds late: nobody skipped


def test_the_host_s_ping_reaches_telegram_and_is_answered_with_telethon_s_own_task_stopped(tgsim):
    """Against tgsim: internals stop Telethon's per-client keepalive and send its ping the same way."""

    async def scenario() -> tuple[bool, bool, bool]:
        client = tgsim.client()
        await client.connect()
        try:
            internals.stop_keepalive(client)
            await asyncio.sleep(0)
            stopped = client._keepalive_handle.cancelled()
            internals.keepalive_ping(client)
            sent = client._sender._ping is not None
            for _ in range(100):
                if client._sender._ping is None:
                    break
                await asyncio.sleep(0.05)
            answered = client._sender._ping is None and client.is_connected()
            return stopped, sent, answered
        finally:
            await client.disconnect()

    assert tgsim.run(scenario()) == (True, True, True)
