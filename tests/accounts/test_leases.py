from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts import leases, sessions
from accounts.models import Account, HostLiveness

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def hosts_alive(transactional_db):
    for name in ("host-a", "host-b", "h"):
        leases.join(holder=name, ttl=30)


def die(holder: str) -> None:
    """The host stops renewing (killed, or paused past the TTL): its liveness expires."""
    HostLiveness.objects.filter(holder=holder).update(expires_at="2000-01-01T00:00:00Z")


def wanted(holder: str) -> set[int]:
    return {account_id for account_id, _ in leases.holdings(holder=holder).wanted}


def test_a_claimed_account_is_not_claimed_again_while_its_holder_lives(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    first = leases.claim(holder="host-a", limit=10, ttl=30)
    assert [g.account_id for g in first] == [account.pk]
    assert leases.claim(holder="host-b", limit=10, ttl=30) == []


def test_a_dead_holder_s_lease_moves_to_a_new_holder_with_a_higher_token(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    leases.join(holder="host-a", ttl=0.05)
    (first,) = leases.claim(holder="host-a", limit=10, ttl=0.05)
    import time

    time.sleep(0.1)
    (second,) = leases.claim(holder="host-b", limit=10, ttl=30)
    assert second.account_id == account.pk
    assert second.token == first.token + 1
    assert not leases.is_current(holder="host-a", grant=first)
    assert not leases.beat(holder="host-a", ttl=30).alive  # an expired liveness is never renewed
    assert leases.is_current(holder="host-b", grant=second)


def test_banned_disabled_and_reauth_accounts_are_not_hosted(make_account):
    for status in (Account.Status.BANNED, Account.Status.DISABLED, Account.Status.REAUTH_REQUIRED):
        make_account(status=status)
    assert leases.claim(holder="host-a", limit=10, ttl=30) == []


def test_concurrent_claims_never_hand_one_account_to_two_hosts(make_account):
    for _ in range(30):
        make_account(status=Account.Status.ACTIVE)
    results: dict[str, list[int]] = {}

    def grab(name: str) -> None:
        got: list[int] = []
        for _ in range(10):
            got += [g.account_id for g in leases.claim(holder=name, limit=3, ttl=30)]
        results[name] = got
        connection.close()

    for i in range(4):
        leases.join(holder=f"host-{i}", ttl=30)
    threads = [threading.Thread(target=grab, args=(f"host-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [account for got in results.values() for account in got]
    assert len(claimed) == 30
    assert len(set(claimed)) == 30


def test_release_frees_the_account_at_once(make_account):
    make_account(status=Account.Status.ACTIVE)
    (grant,) = leases.claim(holder="host-a", limit=10, ttl=30)
    assert leases.release(holder="host-a", grant=grant)
    (again,) = leases.claim(holder="host-b", limit=10, ttl=30)
    assert again.token == grant.token + 1


def test_only_the_current_lease_holder_can_write_the_session(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    (old,) = leases.claim(holder="host-a", limit=1, ttl=30)
    state = sessions.SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=b"k" * 256, pts=5)
    version = sessions.session_store(holder="host-a", grant=old, state=state, version=0)
    assert version == 1

    die("host-a")  # paused past the TTL
    (new,) = leases.claim(holder="host-b", limit=1, ttl=30)
    state.pts = 99
    with pytest.raises(sessions.FencedOut):
        sessions.session_store(holder="host-a", grant=old, state=state, version=version)

    loaded, loaded_version = sessions.session_load(account_id=account.pk)
    assert (loaded.pts, loaded_version) == (5, 1)
    assert sessions.session_store(holder="host-b", grant=new, state=state, version=loaded_version) == 2
    assert sessions.session_load(account_id=account.pk)[0].pts == 99


def test_the_session_blob_is_sealed_and_bound_to_its_account(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    other = make_account(status=Account.Status.ACTIVE)
    grants = {g.account_id: g for g in leases.claim(holder="h", limit=5, ttl=30)}
    key = bytes(range(256))
    sessions.session_store(
        holder="h", grant=grants[account.pk], state=sessions.SessionState(auth_key=key), version=0
    )
    from accounts.models import TelegramSession
    from crm import vault

    row = TelegramSession.objects.get(pk=account.pk)
    assert key not in bytes(row.blob)
    TelegramSession.objects.create(account=other, blob=bytes(row.blob), version=1)
    with pytest.raises(vault.TamperedError):
        sessions.session_load(account_id=other.pk)


def test_the_database_refuses_one_auth_key_in_two_accounts_sessions(make_account):
    from django.db import IntegrityError
    from telethon.crypto import AuthKey

    from accounts.models import TelegramSession

    first, second = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    grants = {g.account_id: g for g in leases.claim(holder="h", limit=5, ttl=30)}
    key = bytes(range(256))
    sessions.session_store(
        holder="h", grant=grants[first.pk], state=sessions.SessionState(auth_key=key), version=0
    )
    with pytest.raises(IntegrityError):
        sessions.session_store(
            holder="h", grant=grants[second.pk], state=sessions.SessionState(auth_key=key), version=0
        )
    # Telegram's own auth_key_id (what travels in clear in every packet), never the key itself.
    stored = TelegramSession.objects.get(pk=first.pk).auth_key_id
    assert stored % 2**64 == AuthKey(key).key_id
    assert not TelegramSession.objects.filter(pk=second.pk).exists()


def test_a_revoked_lease_is_not_claimable_until_its_holder_has_let_go(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    (grant,) = leases.claim(holder="host-a", limit=1, ttl=30)
    leases.revoke(account_id=account.pk)
    # The holder may still be connected: nobody else may connect the same auth key yet.
    assert leases.claim(holder="host-b", limit=10, ttl=30) == []
    # The holder learns of it at its next check, may no longer run commands or write the session...
    assert wanted("host-a") == set()
    assert not leases.is_current(holder="host-a", grant=grant)
    state = sessions.SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=b"k" * 256)
    with pytest.raises(sessions.FencedOut):
        sessions.session_store(holder="host-a", grant=grant, state=state, version=0)
    # ...and once it has disconnected and released the lease, another host takes it at once.
    assert leases.release(holder="host-a", grant=grant)
    (again,) = leases.claim(holder="host-b", limit=10, ttl=30)
    assert again.token == grant.token + 1
    assert wanted("host-b") == {account.pk}


def test_a_revoked_lease_whose_holder_dies_is_claimable_once_its_liveness_expires(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    (grant,) = leases.claim(holder="host-a", limit=1, ttl=30)
    leases.revoke(account_id=account.pk)
    assert leases.claim(holder="host-b", limit=10, ttl=30) == []
    assert leases.beat(holder="host-a", ttl=30).alive  # while its holder lives, the lease stays put
    assert leases.claim(holder="host-b", limit=10, ttl=30) == []
    die("host-a")  # died holding it
    (again,) = leases.claim(holder="host-b", limit=10, ttl=30)
    assert again.token == grant.token + 1
    assert leases.is_current(holder="host-b", grant=again)


def test_reading_back_a_big_host_s_leases_builds_no_object_per_lease(api_app, monkeypatch):
    """A host reads every lease it holds back every 10 s: at 5,000 accounts a Grant and a Holding per
    row cost over 1 % of a core on an idle host."""
    from accounts.devices import choose_device
    from accounts.models import Lease

    phones = [f"4470{n:07d}" for n in range(2000)]
    accounts = Account.objects.bulk_create(
        [
            Account(phone=p, api_app=api_app, status=Account.Status.ACTIVE, **choose_device(seed=p))
            for p in phones
        ]
    )
    Lease.objects.bulk_create([Lease(account=a, holder="host-a", token=7) for a in accounts])
    Account.objects.filter(pk=accounts[0].pk).update(status=Account.Status.BANNED)
    built = []
    real_init = leases.Grant.__init__
    monkeypatch.setattr(
        leases.Grant, "__init__", lambda self, *a, **k: built.append(1) or real_init(self, *a, **k)
    )

    found = leases.holdings(holder="host-a")

    assert built == []
    assert len(found.held) == 2000 and (accounts[1].pk, 7) in found.wanted
    assert (accounts[0].pk, 7) in found.held and (accounts[0].pk, 7) not in found.wanted
