"""Letting go of an account under faults a review found: a revoke racing a claim, a disabled account's
lease, a delete while connected, a final checkpoint outliving the lease, a queue consumed while being
dropped, and a database error in the middle of a command (real database, the host's own loop; clients
are stand-ins)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from accounts import leases, registry, services, sessions
from accounts.host import commands, lifecycle
from accounts.host.errors import NotHeld
from accounts.host.runtime import SessionHost
from accounts.models import Account, Lease, TelegramSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def hosts_alive(transactional_db):
    for name in ("host-a", "host-b"):
        leases.join(holder=name, ttl=30)


class StandInClient:
    def __init__(self) -> None:
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False


class RecordingConsumer:
    def __init__(self) -> None:
        self.added: list[str] = []

    def call_soon(self, fn, queue: str) -> None:
        if fn == self.add_task_queue:
            self.added.append(queue)

    def add_task_queue(self, queue: str) -> None: ...

    def cancel_task_queue(self, queue: str) -> None: ...


def _run(host: SessionHost, coro):
    try:
        return host.loop.run_until_complete(coro)
    finally:
        host.loop.run_until_complete(host.loop.shutdown_default_executor())
        host.loop.close()


def test_a_claim_racing_a_disable_of_a_free_lease_never_hosts_the_disabled_account(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    revoked, finish = threading.Event(), threading.Event()

    def disable_slowly() -> None:
        try:
            with transaction.atomic():
                services.account_disable(account_id=account.pk)
                revoked.set()
                finish.wait(10)  # the disable has not committed yet
        finally:
            connection.close()

    admin = threading.Thread(target=disable_slowly)
    admin.start()
    try:
        assert revoked.wait(10)
        # The claim still reads the account as active: only the lease row's lock keeps it away.
        assert leases.claim(holder="host-b", limit=10, ttl=30) == []
    finally:
        finish.set()
        admin.join(10)
    assert leases.claim(holder="host-b", limit=10, ttl=30) == []
    assert Account.objects.get(pk=account.pk).status == Account.Status.DISABLED


def test_a_lease_whose_account_no_longer_wants_a_host_is_let_go(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    (grant,) = leases.claim(holder="host-a", limit=1, ttl=30)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.BANNED)
    assert leases.holdings(holder="host-a") == leases.Holdings(held=[grant.pair], wanted=set())


def test_deleting_a_connected_account_takes_it_offline_and_keeps_its_key_until_the_host_lets_go(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    (grant,) = leases.claim(holder="host-a", limit=1, ttl=30)
    state = sessions.SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=bytes(range(256)))
    sessions.session_store(holder="host-a", grant=grant, state=state, version=0)

    with pytest.raises(services.StillConnected):
        services.account_delete(account_id=account.pk)
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED
    assert Lease.objects.get(pk=account.pk).revoking
    # The auth key stays known to the fleet, so the same session cannot be imported again meanwhile.
    assert TelegramSession.objects.filter(account=account).exists()

    assert leases.release(holder="host-a", grant=grant)  # the host disconnected and let go
    services.account_delete(account_id=account.pk)
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not TelegramSession.objects.filter(account_id=account.pk).exists()


def test_the_fence_cuts_a_final_checkpoint_that_would_outlive_the_lease(make_account, monkeypatch):
    make_account(status=Account.Status.ACTIVE)
    host = SessionHost(name="host-a", capacity=10, ttl=30)

    async def supervise(host_, hosted) -> None:
        await asyncio.Event().wait()

    async def checkpoint_forever(host_, hosted) -> None:
        await asyncio.Event().wait()  # a handler that never finishes, or a database that never answers

    monkeypatch.setattr(lifecycle, "supervise", supervise)
    monkeypatch.setattr(lifecycle, "checkpoint", checkpoint_forever)

    async def scenario() -> tuple[StandInClient, float]:
        await host._claim()
        (hosted,) = host.accounts.values()
        hosted.client = client = StandInClient()
        hosted.lease_deadline = time.monotonic() + 0.5
        host._fence.start()
        started = time.monotonic()
        shutdown_drop = asyncio.create_task(host.drop(hosted, save=True, release=False))
        while client.connected and time.monotonic() - started < 5:
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        host._fence.stop()
        shutdown_drop.cancel()
        return client, took

    client, took = _run(host, scenario())
    assert not client.connected, "the client outlived its lease deadline"
    assert took < 1.5


def test_an_account_being_dropped_never_consumes_its_queue_again(make_account):
    make_account(status=Account.Status.ACTIVE)
    host = SessionHost(name="host-a", capacity=10, ttl=30)
    consumer = RecordingConsumer()
    host._consumer = consumer

    async def scenario() -> None:
        grants = await asyncio.to_thread(leases.claim, holder="host-a", limit=1, ttl=30)
        from accounts.host.hosted import Hosted

        hosted = Hosted(grant=grants[0], lease_deadline=time.monotonic() + 20)
        hosted.drop_task = asyncio.get_running_loop().create_future()  # a drop is under way
        host.consume(hosted)
        hosted.drop_task = None
        hosted.lost = True
        host.consume(hosted)

    _run(host, scenario())
    assert consumer.added == []


@pytest.mark.parametrize("login", [False, True])
def test_a_database_error_inside_a_command_requeues_it_unless_it_is_a_login_step(make_account, login):
    account = make_account(status=Account.Status.ACTIVE)
    host = SessionHost(name="host-a", capacity=10, ttl=30)

    async def body(hosted, params) -> registry.Done:
        raise OperationalError("the database went away")

    failing = registry.Command(
        name="test.failing",
        body=body,
        params=registry.NoParams,
        result=registry.Done,
        budget=None,
        login=not login,
        read_only=False,
        destructive=False,
        timeout=10,
        on_failure=None,
        task=None,
    )

    async def scenario() -> BaseException | None:
        from accounts.host.hosted import Hosted

        (grant,) = await asyncio.to_thread(leases.claim, holder="host-a", limit=1, ttl=30)
        hosted = Hosted(grant=grant, lease_deadline=time.monotonic() + 20, authorized=True)
        hosted.client = object()  # a ready account has a client; the body never uses it
        hosted.ready.set()
        host.accounts[account.pk] = hosted
        try:
            await commands.execute(host, failing, account_id=account.pk, params=registry.NoParams())
        except BaseException as error:
            return error
        return None

    error = _run(host, scenario())
    assert isinstance(error, OperationalError if login else NotHeld)


@pytest.mark.parametrize("name", ["inbox.reply", "inbox.fetch_media"])
def test_a_command_whose_own_check_cannot_reach_the_database_goes_back_to_its_queue(name, monkeypatch):
    from celery.exceptions import Reject

    import inbox.commands  # noqa: F401 - declares the inbox's commands
    from accounts.host import current

    def unreachable(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(current, "_host", SessionHost(name="host-a", capacity=1, ttl=30))
    monkeypatch.setattr(Account.objects, "filter", unreachable)
    with pytest.raises(Reject) as rejected:
        registry.REGISTRY[name].task.run(account_id=1, message_id=1)
    assert rejected.value.requeue
