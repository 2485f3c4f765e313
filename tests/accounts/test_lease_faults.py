"""One live connection per account under every fault (invariant 1), and no command lost (invariant 2):
real session hosts, tgsim, and a relay that takes the database away from one host only."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account, Lease
from accounts.services import account_disable, account_resume
from tests.accounts.test_takeover import TTL, all_held, key_flags, pid_of
from tests.support.accounts import new_phone, ready_account
from tests.support.dbproxy import DbProxy
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def live_connections(tgsim, user_ids: set[int]) -> set[object]:
    """tgsim's open connections that carry a session of one of these users."""

    def find():
        server = tgsim.sim.server
        return {c for c in server.connections if c.alive and any(s.user_id in user_ids for s in c.sessions)}

    return tgsim.run(find)


def ready(log_path) -> bool:
    return log_path.exists() and b" ready." in log_path.read_bytes()


def send(account, *, to: str, text: str) -> dict:
    task_id = commands.send.queue(account, peer=to, text=text, random_id=random.getrandbits(63))
    return AsyncResult(task_id).get(timeout=90)


def test_a_revoked_account_moves_to_another_host_only_after_its_holder_has_disconnected(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Revoked")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"r{me}")
    with session_host("holder", log_path=tmp_path / "holder.log", env=host_env) as holder:
        wait_for(lambda: all_held([account]), timeout=40, what="the holder to claim the account")
        with session_host("heir", log_path=tmp_path / "heir.log", env=host_env):
            wait_for(lambda: ready(tmp_path / "heir.log"), timeout=60, what="the heir to start")
            assert send(account, to=f"@r{me}", text="before the revoke")["ok"]
            token = Lease.objects.get(pk=account.pk).token
            # The holder is busy (paused) when the admin disables and resumes the account: the wake
            # broadcast does not reach it in time, while the heir hears it at once.
            os.kill(holder.pid, signal.SIGSTOP)
            try:
                account_disable(account_id=account.pk)
                account_resume(account_id=account.pk)
                time.sleep(2)  # the heir (woken at once) would claim the account and connect its key by now
                during_pause = Lease.objects.get(pk=account.pk)
            finally:
                os.kill(holder.pid, signal.SIGCONT)
            assert (pid_of(during_pause.holder), during_pause.token) == (holder.pid, token), (
                "the lease moved on while its holder was still connected"
            )
            # Once the holder has let go, a fresh lease goes to whichever host claims first.
            wait_for(
                lambda: Lease.objects.filter(pk=account.pk, token__gt=token).exclude(holder="").exists(),
                timeout=TTL + 20,
                what="a host to claim the account afresh once the holder let go",
            )
            result = send(account, to=f"@r{me}", text="after the revoke")
    assert result["ok"], result
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("after the revoke") == 1
    assert not any(key_flags(tgsim)), "tgsim saw AUTH_KEY_DUPLICATED"
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE


def test_a_host_cut_off_from_the_database_disconnects_its_clients_before_another_host_takes_them(
    tgsim, host_env, api_app, tmp_path
):
    pool = [ready_account(tgsim, api_app, first_name=f"Cut{i}") for i in range(3)]
    accounts = [account for account, _ in pool]
    users = {user_id for _, user_id in pool}
    me = pool[0][1]
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"c{me}")
    proxy = DbProxy()
    try:
        with session_host(
            "cutoff", log_path=tmp_path / "cutoff.log", env={**host_env, "DATABASE_URL": proxy.url}
        ):
            held = wait_for(lambda: all_held(accounts), timeout=40, what="the host to claim the accounts")
            cutoff_pid = pid_of(next(iter(held.values())))
            theirs = wait_for(
                lambda: (found := live_connections(tgsim, users)) and len(found) >= len(users) and found,
                timeout=40,
                what="the accounts to connect",
            )
            with session_host("heir", log_path=tmp_path / "heir.log", env=host_env) as heir:
                wait_for(lambda: ready(tmp_path / "heir.log"), timeout=60, what="the heir to start")
                proxy.freeze()  # every query of the cut-off host hangs from now on, its renewals too
                frozen_at = time.monotonic()
                wait_for(
                    lambda: not (theirs & live_connections(tgsim, users)),
                    timeout=2 * TTL,
                    interval=0.05,
                    what="the cut-off host to disconnect its clients",
                )
                gone_after = time.monotonic() - frozen_at
                holders_then = {pid_of(h) for h in holders_of(accounts).values()}
                assert holders_then == {cutoff_pid}, (
                    "another host took an account before its old client was gone"
                )
                assert gone_after < TTL
                wait_for(
                    lambda: {pid_of(h) for h in holders_of(accounts).values()} == {heir.pid},
                    timeout=TTL + 20,
                    what="the heir to take the accounts over",
                )
                result = send(accounts[0], to=f"@c{me}", text="sent by the heir")
                proxy.cut()  # let the cut-off host fail fast rather than hang while it shuts down
    finally:
        proxy.close()
    assert result["ok"], result
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("sent by the heir") == 1
    assert not any(key_flags(tgsim)), "tgsim saw AUTH_KEY_DUPLICATED"


def test_a_command_whose_lease_check_cannot_reach_the_database_goes_back_to_its_queue(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Outage")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"o{me}")
    proxy = DbProxy()
    try:
        with session_host(
            "host", log_path=tmp_path / "host.log", env={**host_env, "DATABASE_URL": proxy.url}
        ):
            wait_for(
                lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                timeout=40,
                what="the account to connect",
            )
            assert send(account, to=f"@o{me}", text="warm-up")["ok"]  # the host is consuming its queue
            proxy.cut()  # the host's queries fail at once, the broker and Redis still work
            task_id = commands.send.queue(
                account,
                peer=f"@o{me}",
                text="sent once the database is back",
                random_id=random.getrandbits(63),
            )
            time.sleep(1.5)  # delivered to the host, which cannot check the lease meanwhile
            proxy.restore()
            result = AsyncResult(task_id).get(timeout=90)
    finally:
        proxy.close()
    assert result["ok"], result
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("sent once the database is back") == 1
    assert not any(key_flags(tgsim)), "tgsim saw AUTH_KEY_DUPLICATED"


def holders_of(accounts) -> dict[int, str]:
    return dict(Lease.objects.filter(account__in=accounts).values_list("account_id", "holder"))
