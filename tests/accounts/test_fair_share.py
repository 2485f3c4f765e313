"""Several session hosts share a fleet out evenly (accounts.host.share), and a host that joins gets its share
from the others, handed over gracefully."""

from __future__ import annotations

import time

import pytest
from django.db.models.functions import Now

from accounts import leases
from accounts.host.share import SHED_BATCH, Share, bound
from accounts.leases import Fleet
from accounts.models import Account, HostLiveness, Lease
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for

TTL = 6.0  # SESSION_LEASE_TTL in host_env


def plan(fleet: Fleet, *, held: int, capacity: int = 10_000, share: Share | None = None, now: float = 0.0):
    return (share or Share(capacity=capacity, ttl=TTL)).plan(fleet, held=held, now=now)


def test_the_fair_share_is_the_fleet_over_the_live_hosts_plus_a_slack():
    assert bound(Fleet(wanting=20_000, free=0, other_hosts=3), capacity=10_000) == 5000 + 250
    assert bound(Fleet(wanting=10, free=0, other_hosts=2), capacity=10_000) == 4 + 2  # slack at least 2
    assert bound(Fleet(wanting=20_000, free=0, other_hosts=0), capacity=10_000) == 10_000  # capacity rules
    assert bound(Fleet(wanting=0, free=0, other_hosts=0), capacity=500) == 2


def test_a_host_alone_claims_everything_up_to_its_capacity():
    assert plan(Fleet(wanting=3000, free=3000, other_hosts=0), held=0, capacity=2000) == (2000, 0)


def test_a_host_at_its_share_claims_nothing_more_and_one_below_claims_the_difference():
    fleet = Fleet(wanting=10_000, free=100, other_hosts=3)
    assert plan(fleet, held=2625) == (0, 0)
    assert plan(fleet, held=2000) == (625, 0)


def test_a_host_above_its_share_hands_back_a_bounded_batch_once_nobody_waits():
    # A fourth host joined a fleet held by three: each of them is above the new share.
    assert plan(Fleet(wanting=1000, free=0, other_hosts=3), held=334) == (0, 334 - (250 + 13))
    assert plan(Fleet(wanting=10_000, free=0, other_hosts=3), held=3334) == (0, SHED_BATCH)
    assert plan(Fleet(wanting=10_000, free=0, other_hosts=1), held=10_000) == (0, SHED_BATCH)
    # Accounts are waiting for a host: handing more back would only make them wait longer.
    assert plan(Fleet(wanting=10_000, free=5, other_hosts=3), held=3334) == (0, 0)


def test_accounts_nobody_else_takes_are_claimed_beyond_the_share_after_two_ttls():
    share = Share(capacity=5000, ttl=TTL)
    fleet = Fleet(wanting=10_000, free=2000, other_hosts=1)  # the other host is full (capacity 3000)
    assert plan(fleet, held=5000, share=share, now=100.0) == (0, 0)  # at its capacity: nothing
    share = Share(capacity=8000, ttl=TTL)
    assert plan(fleet, held=5250, share=share, now=100.0) == (0, 0)
    assert plan(fleet, held=5250, share=share, now=100.0 + TTL) == (0, 0)
    assert plan(fleet, held=5250, share=share, now=100.0 + 2 * TTL) == (8000 - 5250, 0)
    # Once nobody waits, the clock starts again.
    assert plan(Fleet(wanting=10_000, free=0, other_hosts=1), held=8000, share=share, now=200.0)[0] == 0
    assert plan(fleet, held=5250, share=share, now=201.0) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_fleet_counts_live_hosts_even_empty_ones_and_the_accounts_waiting(make_account):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(5)]
    disabled = make_account(status=Account.Status.DISABLED)
    for account in [*accounts, disabled]:
        leases.ensure_lease(account_id=account.pk)
    for host in ("host-a", "host-b", "host-c"):
        leases.join(holder=host, ttl=30)
    leases.claim(holder="host-a", limit=2, ttl=30)
    leases.claim(holder="host-b", limit=1, ttl=30)
    # host-c has just joined and holds nothing: it counts all the same, so it gets a share.
    assert leases.fleet(holder="host-a") == Fleet(wanting=5, free=2, other_hosts=2)
    assert leases.fleet(holder="host-d") == Fleet(wanting=5, free=2, other_hosts=3)
    HostLiveness.objects.filter(holder="host-b").update(expires_at=Now())  # b died: its account waits
    assert leases.fleet(holder="host-a") == Fleet(wanting=5, free=3, other_hosts=1)


def held_per_host(accounts: list[Account], pids: list[int]) -> list[int]:
    holders = list(
        Lease.objects.filter(account__in=accounts).exclude(holder="").values_list("holder", flat=True)
    )
    return [sum(1 for h in holders if f"/{pid}/" in h) for pid in pids]


def online(tgsim, users: list[int]) -> bool:
    return all(tgsim.run(lambda: [tgsim.sim.server.is_online(u) for u in users]))


def duplicated(tgsim, users: list[int]) -> list[int]:
    keys = tgsim.run(lambda: list(tgsim.sim.server.keys.values()))
    return [rec.user_id for rec in keys if rec.user_id in users and rec.duplicated]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_hosts_that_join_get_their_share_from_the_one_holding_everything(tgsim, host_env, api_app, tmp_path):
    pool = [ready_account(tgsim, api_app, first_name=f"Share{i}") for i in range(18)]
    accounts, users = [a for a, _ in pool], [u for _, u in pool]
    with session_host("a", log_path=tmp_path / "a.log", env=host_env) as host_a:
        wait_for(lambda: held_per_host(accounts, [host_a.pid]) == [18], timeout=60, what="host a to hold all")
        wait_for(lambda: online(tgsim, users), timeout=60, what="every account to connect")
        with (
            session_host("b", log_path=tmp_path / "b.log", env=host_env) as host_b,
            session_host("c", log_path=tmp_path / "c.log", env=host_env) as host_c,
        ):
            pids = [host_a.pid, host_b.pid, host_c.pid]
            # The fair share is 6 (18 over 3 hosts), the bound 6 + a slack of 2.
            counts = wait_for(
                lambda: (c := held_per_host(accounts, pids)) and sum(c) == 18 and max(c) <= 8 and c,
                timeout=90,
                what="an even share-out",
            )
            assert min(counts) >= 18 - 2 * 8
            wait_for(lambda: online(tgsim, users), timeout=60, what="every account to connect again")
            # It stays put: once shared out, no account goes back and forth.
            holders = dict(Lease.objects.filter(account__in=accounts).values_list("account_id", "holder"))
            time.sleep(3 * TTL)
            assert (
                dict(Lease.objects.filter(account__in=accounts).values_list("account_id", "holder"))
                == holders
            )
            assert online(tgsim, users)
    # Handed over gracefully: host a let go of each account before another host connected it.
    assert duplicated(tgsim, users) == []
    assert "above the fair share: handing back" in (tmp_path / "a.log").read_text()
