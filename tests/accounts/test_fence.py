"""The fence: a host whose asyncio loop is stuck (a starved process, a callback that blocks) and whose
renewals fail still closes its clients' connections before another host may claim their leases
(invariant 1); one whose renewals go on keeps them. Real database, real Telethon clients against tgsim;
the host runs in this process so that the test can block its loop."""

from __future__ import annotations

import threading
import time

import pytest

from accounts import leases
from accounts.host import lifecycle
from accounts.host.runtime import SessionHost
from accounts.models import Account
from tests.accounts.test_lease_faults import live_connections
from tests.accounts.test_liveness import (
    StandInClient,
    hanging_for,
    no_connections_left_behind,  # noqa: F401 (autouse fixture)
    stand_in_supervisor,
    wait,
)
from tests.support.accounts import ready_account
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TTL = 4.0


@pytest.fixture
def connected_host(tgsim, api_app, settings):
    """A host in this process holding two accounts connected to tgsim: (host, tgsim's connections, users)."""
    env = tgsim.host_env()
    settings.TELEGRAM_DC, settings.TELEGRAM_SERVER_KEYS = env["TELEGRAM_DC"], env["TELEGRAM_SERVER_KEYS"]
    pool = [ready_account(tgsim, api_app, first_name=f"Blocked{i}") for i in range(2)]
    users = {user_id for _, user_id in pool}
    host = SessionHost(name="blocked", capacity=5, ttl=TTL)
    leases.join(holder="heir", ttl=60)
    host.start()
    try:
        theirs = wait_for(
            lambda: (found := live_connections(tgsim, users)) and len(found) >= len(users) and found,
            timeout=40,
            what="the host to connect its accounts",
        )
        yield host, theirs, users
    finally:
        host.stop(timeout=30)


def test_a_host_whose_loop_and_database_are_lost_past_the_ttl_closes_its_connections_before_another_can_claim(
    tgsim, connected_host, monkeypatch
):
    host, theirs, users = connected_host
    lost = threading.Event()
    try:
        # A callback that holds the loop well past the TTL: nothing else runs on it meanwhile, nothing
        # that would disconnect a client. And the database stops answering the host's renewals.
        monkeypatch.setattr(leases, "beat", hanging_for("blocked", leases.beat, until=lost))
        host.loop.call_soon_threadsafe(time.sleep, 3 * TTL)
        blocked_at = time.monotonic()
        grants = wait_for(
            lambda: leases.claim(holder="heir", limit=10, ttl=60),
            timeout=3 * TTL,
            interval=0.05,
            what="another host to claim the accounts once the blocked host's liveness expired",
        )
        open_at_claim = theirs & live_connections(tgsim, users)
        claimed_after = time.monotonic() - blocked_at
    finally:
        lost.set()
    assert len(grants) == len(users)
    assert claimed_after < 3 * TTL, "the loop was unblocked before the claim: this proves nothing"
    assert not open_at_claim, "another host claimed the accounts while the blocked host was still connected"


def test_a_host_whose_loop_is_stuck_but_whose_database_answers_keeps_its_accounts(tgsim, connected_host):
    host, theirs, users = connected_host
    # Renewals run on a thread of their own: a loop held up (thousands of connects on a loaded machine)
    # neither lets the liveness expire nor has the fence cut a healthy host's clients.
    host.loop.call_soon_threadsafe(time.sleep, 2 * TTL)
    stuck_until = time.monotonic() + 2 * TTL
    while time.monotonic() < stuck_until:
        assert not leases.claim(holder="heir", limit=10, ttl=60), "the stuck host's liveness expired"
        time.sleep(0.2)
    time.sleep(1)  # the loop runs again: whatever it was asked meanwhile is done
    assert theirs <= live_connections(tgsim, users), "a client of a host with a live lease was cut"


def test_the_fence_of_a_healthy_host_wakes_about_once_per_deadline_whatever_it_holds(
    make_account, monkeypatch
):
    for _ in range(50):
        make_account(status=Account.Status.ACTIVE)
    clients: list[StandInClient] = []
    monkeypatch.setattr(lifecycle, "supervise", stand_in_supervisor(clients))
    host = SessionHost(name="healthy", capacity=100, ttl=2)
    host.start()
    try:
        assert wait(lambda: len(clients) == 50, 10), "the host did not claim the accounts"
        woken = host._fence.wakes
        time.sleep(6)
        wakes = host._fence.wakes - woken
        cut = [c for c in clients if c.disconnected_at is not None]
    finally:
        host.stop(timeout=15)
    assert not cut, "the fence cut a client of a host that renews in time"
    # Renewals every 0.4 s keep moving the deadline (1.6 s after each): the fence wakes at most once per
    # deadline it slept until (the old watchdog scanned every account 24 times in these 6 s).
    assert wakes <= 6 / (0.8 * 2 - 0.4) + 2, wakes
