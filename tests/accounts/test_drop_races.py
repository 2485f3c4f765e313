"""A session host dropping an account while it claims the same account again (real database, the host's
own loop; the client is a stand-in whose disconnect takes a while)."""

from __future__ import annotations

import asyncio

import pytest

from accounts import leases
from accounts.host import lifecycle
from accounts.host.runtime import SessionHost
from accounts.models import Account, HostLiveness

pytestmark = pytest.mark.django_db(transaction=True)


class SlowClient:
    """A connected client whose disconnect completes only when the test opens the gate."""

    def __init__(self) -> None:
        self.connected = True
        self.gate = asyncio.Event()

    async def disconnect(self) -> None:
        await self.gate.wait()
        self.connected = False


def test_a_claim_racing_a_drop_of_the_same_account_connects_only_after_it_and_stays_tracked(
    make_account, monkeypatch
):
    account = make_account(status=Account.Status.ACTIVE)
    host = SessionHost(name="host-a", capacity=10, ttl=30)
    leases.join(holder="host-a", ttl=30)
    connects: list[tuple[object, bool]] = []  # (hosted, was the old client still connected?)
    old_client = SlowClient()

    async def supervise(host_: SessionHost, hosted) -> None:
        connects.append((hosted, old_client.connected))

    monkeypatch.setattr(lifecycle, "supervise", supervise)

    async def scenario():
        await host._claim()
        old = host.accounts[account.pk]
        old.client = old_client  # connected
        await asyncio.sleep(0.05)
        connects.clear()
        # The watchdog drops it (no renewal in time), and its disconnect is slow...
        dropping = asyncio.create_task(host.drop(old, save=False, release=False))
        await asyncio.sleep(0.1)
        # ...while this host's liveness expires in the database, and it joins again and claims the
        # account again.
        await asyncio.to_thread(
            lambda: HostLiveness.objects.filter(holder="host-a").update(expires_at="2000-01-01T00:00:00Z")
        )
        await asyncio.to_thread(leases.join, holder="host-a", ttl=30)
        await host._claim()
        new = host.accounts[account.pk]
        assert new is not old
        await asyncio.sleep(0.3)
        connected_early = list(connects)
        old_client.gate.set()
        await dropping
        await asyncio.sleep(0.1)
        return new, connected_early

    try:
        new, connected_early = host.loop.run_until_complete(scenario())
    finally:
        host.loop.run_until_complete(host.loop.shutdown_default_executor())
        host.loop.close()
    assert connected_early == [], "the new client connected while the old one was still connected"
    assert connects == [(new, False)]
    assert host.accounts.get(account.pk) is new, "the host lost track of the account's new client"
