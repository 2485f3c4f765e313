from __future__ import annotations

import os
import random
import signal
import time

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account, Lease, TelegramSession
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TTL = 6.0  # SESSION_LEASE_TTL in host_env


def holders(accounts) -> dict[int, str]:
    return dict(Lease.objects.filter(account__in=accounts).values_list("account_id", "holder"))


def pid_of(holder: str) -> int:
    return int(holder.split("/")[1]) if holder else 0


def all_held(accounts):
    current = holders(accounts)
    return current if all(current.values()) and len(current) == len(accounts) else None


def key_flags(tgsim) -> list[bool]:
    return tgsim.run(lambda: [rec.duplicated for rec in tgsim.sim.server.keys.values()])


def test_a_killed_host_s_accounts_move_to_the_other_and_a_waiting_command_runs_once(
    tgsim, host_env, api_app, tmp_path
):
    pool = [ready_account(tgsim, api_app, first_name=f"Pool{i}") for i in range(6)]
    accounts = [account for account, _ in pool]
    friend = tgsim.world_call(
        "create_user", phone=new_phone(), first_name="Target", username=f"t{pool[0][1]}"
    )
    with (
        session_host("a", log_path=tmp_path / "a.log", env=host_env) as host_a,
        session_host("b", log_path=tmp_path / "b.log", env=host_env) as host_b,
    ):
        held = wait_for(lambda: all_held(accounts), timeout=40, what="every account to be held")
        assert {pid_of(h) for h in held.values()} <= {host_a.pid, host_b.pid}
        victims = [a for a in accounts if pid_of(held[a.pk]) == host_a.pid]
        if not victims:  # host b took everything first: kill b instead
            host_a, host_b = host_b, host_a
            victims = accounts
        wait_for(
            lambda: (
                Account.objects.filter(pk__in=[a.pk for a in victims], telegram_id__isnull=False).count()
                == len(victims)
            ),
            timeout=30,
            what="the victims to be connected",
        )

        os.kill(host_a.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        victim = victims[0]
        me = dict((a.pk, uid) for a, uid in pool)[victim.pk]
        tgsim.world_call("set_user", friend, username=f"t{me}")
        task_id = commands.send.queue(
            victim,
            peer=f"@t{me}",
            text="sent while its host was dead",
            random_id=random.getrandbits(63),
        )

        def moved():
            current = holders(victims)
            return all(pid_of(h) == host_b.pid for h in current.values())

        wait_for(moved, timeout=TTL + 10, interval=0.2, what="the dead host's accounts to move")
        takeover = time.monotonic() - killed_at
        result = AsyncResult(task_id).get(timeout=60)
    assert result["ok"], result
    assert takeover <= TTL + 10
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("sent while its host was dead") == 1
    assert not any(key_flags(tgsim)), "tgsim saw AUTH_KEY_DUPLICATED"


def test_a_paused_zombie_host_can_neither_write_the_session_nor_send(tgsim, host_env, api_app, tmp_path):
    account, me = ready_account(tgsim, api_app, first_name="Zombie")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"z{me}")
    with session_host("zombie", log_path=tmp_path / "zombie.log", env=host_env) as zombie:
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=30,
            what="the zombie-to-be to connect",
        )
        zombie_token = Lease.objects.get(pk=account.pk).token
        os.kill(zombie.pid, signal.SIGSTOP)
        try:
            with session_host("heir", log_path=tmp_path / "heir.log", env=host_env) as heir:
                wait_for(
                    lambda: pid_of(Lease.objects.get(pk=account.pk).holder) == heir.pid,
                    timeout=TTL + 15,
                    what="the heir to take the account over",
                )
                heir_token = Lease.objects.get(pk=account.pk).token
                # A checkpoint writes only once the update state moved: a message received moves it.
                tgsim.world_call("say", friend, to_user_id=me, text="to the heir")
                wait_for(
                    lambda: TelegramSession.objects.get(pk=account.pk).fencing_token == heir_token,
                    timeout=20,
                    what="the heir to checkpoint the session",
                )
                # A command queued now may be delivered to the zombie's still-open broker connection.
                task_id = commands.send.queue(
                    account,
                    peer=f"@z{me}",
                    text="only the heir sends this",
                    random_id=random.getrandbits(63),
                )
                os.kill(zombie.pid, signal.SIGCONT)
                result = AsyncResult(task_id).get(timeout=60)
                time.sleep(TTL / 2)  # give the zombie a renew tick and a checkpoint in which to misbehave
                session = TelegramSession.objects.get(pk=account.pk)
                lease = Lease.objects.get(pk=account.pk)
        finally:
            os.kill(zombie.pid, signal.SIGCONT)
    assert heir_token > zombie_token
    assert result["ok"], result
    assert session.fencing_token == heir_token
    assert pid_of(lease.holder) == heir.pid
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("only the heir sends this") == 1
    assert not any(key_flags(tgsim)), "tgsim saw AUTH_KEY_DUPLICATED"
