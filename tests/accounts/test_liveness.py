"""Host liveness: a lease lives and dies with its holder's liveness row (accounts.leases). Attacks on it:
a zombie coming back after its accounts moved, two hosts racing for a dead host's accounts, a renewal
hanging on a lost database, this machine's clock disagreeing with the database's (real database; the
host's own loop and thread, clients are stand-ins)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import leases, sessions
from accounts.host import lifecycle
from accounts.host.runtime import SessionHost
from accounts.models import Account, HostLiveness, Lease

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_connections_left_behind():
    """Hosts started in this process leave their threads' database connections open: close them, or
    the test database could not be dropped."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


STATE = sessions.SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=bytes(range(256)))


def die(holder: str) -> None:
    """The host stops renewing (killed, or paused past the TTL): its liveness expires."""
    HostLiveness.objects.filter(holder=holder).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_host_whose_liveness_expired_is_never_renewed_and_claims_nothing_until_it_joins_again(make_account):
    make_account(status=Account.Status.ACTIVE)
    leases.join(holder="host-a", ttl=30)
    die("host-a")
    assert not leases.beat(holder="host-a", ttl=30).alive
    assert not HostLiveness.objects.filter(holder="host-a", expires_at__gt=timezone.now()).exists()
    assert leases.claim(holder="host-a", limit=10, ttl=30) == []
    assert leases.claim(holder="never-joined", limit=10, ttl=30) == []
    leases.join(holder="host-a", ttl=30)
    assert len(leases.claim(holder="host-a", limit=10, ttl=30)) == 1


def test_a_zombie_back_after_its_accounts_moved_can_neither_write_nor_send_even_once_alive_again(
    make_account,
):
    moved, kept = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    leases.join(holder="zombie", ttl=30)
    grants = {g.account_id: g for g in leases.claim(holder="zombie", limit=10, ttl=30)}
    version = sessions.session_store(holder="zombie", grant=grants[moved.pk], state=STATE, version=0)
    die("zombie")  # SIGSTOP past the TTL
    leases.join(holder="heir", ttl=30)
    (heirs,) = leases.claim(holder="heir", limit=1, ttl=30)
    assert heirs.account_id == moved.pk and heirs.token == grants[moved.pk].token + 1
    # SIGCONT: its renewal is refused, and it joins again as a new life.
    assert not leases.beat(holder="zombie", ttl=30).alive
    leases.join(holder="zombie", ttl=30)
    for grant in grants.values():
        assert not leases.is_current(holder="zombie", grant=grant)
        with pytest.raises(sessions.FencedOut):
            sessions.session_store(holder="zombie", grant=grant, state=STATE, version=version)
    # What nobody had claimed yet was freed by the new life, never revived under its old token.
    assert Lease.objects.get(pk=kept.pk).holder == ""
    (again,) = leases.claim(holder="zombie", limit=10, ttl=30)
    assert again.account_id == kept.pk and again.token == grants[kept.pk].token + 1
    assert leases.is_current(holder="heir", grant=heirs)
    assert sessions.session_store(holder="heir", grant=heirs, state=STATE, version=version) == version + 1


def test_hosts_racing_for_a_dead_host_s_accounts_take_each_exactly_once(make_account):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(40)]
    leases.join(holder="dead", ttl=30)
    before = {g.account_id: g.token for g in leases.claim(holder="dead", limit=100, ttl=30)}
    names = [f"racer-{i}" for i in range(4)]
    for name in names:
        leases.join(holder=name, ttl=30)
    die("dead")
    start = threading.Barrier(len(names))
    results: dict[str, list[leases.Grant]] = {}

    def race(name: str) -> None:
        got: list[leases.Grant] = []
        try:
            start.wait()
            for _ in range(20):
                got += leases.claim(holder=name, limit=3, ttl=30)
        finally:
            results[name] = got
            connection.close()

    threads = [threading.Thread(target=race, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [grant for got in results.values() for grant in got]
    assert sorted(g.account_id for g in claimed) == sorted(a.pk for a in accounts)
    assert all(g.token == before[g.account_id] + 1 for g in claimed)
    rows = dict(Lease.objects.values_list("account_id", "holder"))
    assert all(rows[g.account_id] == name for name, got in results.items() for g in got)


def test_expiry_is_judged_by_the_database_clock_never_this_machine_s(make_account, monkeypatch):
    account = make_account(status=Account.Status.ACTIVE)
    leases.join(holder="host-a", ttl=30)
    (grant,) = leases.claim(holder="host-a", limit=1, ttl=30)
    leases.join(holder="host-b", ttl=30)
    real_now = timezone.now
    for skew in (timedelta(days=1), -timedelta(days=1)):  # this machine's clock a day ahead, then behind
        monkeypatch.setattr(timezone, "now", lambda skew=skew: real_now() + skew)
        assert leases.is_current(holder="host-a", grant=grant)
        assert leases.is_held(account_id=account.pk)
        assert leases.claim(holder="host-b", limit=1, ttl=30) == []
        assert leases.beat(holder="host-a", ttl=30).alive
        assert leases.live_holders() == {"host-a", "host-b"}
    monkeypatch.setattr(timezone, "now", real_now)
    die("host-a")
    assert not leases.is_held(account_id=account.pk)


def test_a_renewal_tells_when_another_host_s_liveness_will_expire(make_account):
    leases.join(holder="host-a", ttl=30)
    assert leases.beat(holder="host-a", ttl=30).next_lapse is None
    leases.join(holder="host-b", ttl=4)
    leases.join(holder="long-dead", ttl=30)
    die("long-dead")
    lapse = leases.beat(holder="host-a", ttl=30).next_lapse
    assert lapse is not None and 3 < lapse <= 4


def test_a_host_that_leaves_frees_what_it_could_not_release(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    leases.join(holder="host-a", ttl=30)
    leases.claim(holder="host-a", limit=1, ttl=30)
    assert leases.is_held(account_id=account.pk)
    leases.leave(holder="host-a")
    assert not leases.is_held(account_id=account.pk)
    leases.join(holder="host-b", ttl=30)
    assert [g.account_id for g in leases.claim(holder="host-b", limit=1, ttl=30)] == [account.pk]


class StandInClient:
    def __init__(self) -> None:
        self.disconnected_at: float | None = None

    async def disconnect(self) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()


def stand_in_supervisor(clients: list[StandInClient]):
    async def supervise(host, hosted) -> None:
        hosted.client = client = StandInClient()
        clients.append(client)
        await asyncio.Event().wait()

    return supervise


def claim_all(holder: str, count: int, timeout: float) -> tuple[list[leases.Grant], float]:
    got: list[leases.Grant] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += leases.claim(holder=holder, limit=count, ttl=30)
        time.sleep(0.02)
    return got, time.monotonic()


def hanging_for(holder: str, fn, *, until: threading.Event):
    """``fn``, except that for ``holder`` the database stops answering until the event is set."""

    def call(**kwargs):
        if kwargs.get("holder") == holder:
            until.wait(30)
        return fn(**kwargs)

    return call


def test_a_host_whose_renewal_hangs_on_a_lost_database_drops_its_clients_before_another_can_claim(
    make_account, monkeypatch
):
    for _ in range(5):
        make_account(status=Account.Status.ACTIVE)
    clients: list[StandInClient] = []
    monkeypatch.setattr(lifecycle, "supervise", stand_in_supervisor(clients))
    host = SessionHost(name="host-a", capacity=10, ttl=2)
    leases.join(holder="host-b", ttl=30)
    host.start()
    hung = threading.Event()
    try:
        assert wait(lambda: len(clients) == 5, 10), "the host did not claim the accounts"
        for name in ("beat", "claim", "holdings", "release_left", "release"):
            monkeypatch.setattr(leases, name, hanging_for("host-a", getattr(leases, name), until=hung))
        got, claimed_at = claim_all("host-b", 5, timeout=10)
        assert len(got) == 5, "another host could not claim the accounts once the liveness expired"
        assert all(c.disconnected_at is not None and c.disconnected_at < claimed_at for c in clients), (
            "another host claimed an account whose client was still connected"
        )
    finally:
        hung.set()
        host.stop(timeout=15)


def test_hosts_claim_a_dead_host_s_accounts_the_moment_its_liveness_expires(make_account, monkeypatch):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(3)]
    clients: list[StandInClient] = []
    monkeypatch.setattr(lifecycle, "supervise", stand_in_supervisor(clients))
    leases.join(holder="dead", ttl=7)
    assert len(leases.claim(holder="dead", limit=10, ttl=7)) == 3
    expires = HostLiveness.objects.get(holder="dead").expires_at
    # Claims tick every 5 s (a third of the TTL) after the first, at once on start; a renewal every 3 s.
    host = SessionHost(name="heir", capacity=10, ttl=15)
    host.start()
    try:
        assert wait(lambda: len(clients) == 3, 12), "the heir did not take the accounts over"
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            (now,) = cursor.fetchone()
        holders = set(Lease.objects.filter(account__in=accounts).values_list("holder", flat=True))
    finally:
        host.stop(timeout=15)
    assert holders == {"heir"}
    # Measured when the last client appeared, by the database's clock: well before the next tick.
    assert (now - expires).total_seconds() < 0.9


def wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
