"""A session host takes no commands for an account while it is disconnected: they wait in the account's
queue, not on the host's pool threads, so the host's other accounts keep running theirs (found by the
chaos run, docs/chaos.md: commands waiting up to 60 s for a connect held every pool thread of a host)."""

from __future__ import annotations

import random

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account, Lease
from crm.celery import app as celery_app
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POOL = 2  # the host's pool threads: as many commands for the disconnected account as it has


def test_commands_for_an_account_that_cannot_reconnect_leave_the_other_accounts_commands_running(
    tgsim, host_env, api_app, tmp_path
):
    stuck, stuck_me = ready_account(tgsim, api_app)
    other, other_me = ready_account(tgsim, api_app)
    peer = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"w{other_me}")
    with session_host("unready", log_path=tmp_path / "host.log", env=host_env, concurrency=POOL):
        wait_for(
            lambda: (
                Account.objects.filter(pk__in=[stuck.pk, other.pk], telegram_id__isnull=False).count() == 2
            ),
            timeout=60,
            what="the host to connect both accounts",
        )
        worker = Lease.objects.get(pk=stuck.pk).holder.split("/")[0]

        def seen(account_id: int) -> str:
            replies = celery_app.control.broadcast(
                "sessionhost_accounts", arguments={"ids": [account_id]}, reply=True, timeout=5,
                destination=[worker],
            )  # fmt: skip
            return " ".join(str(r[worker].get("accounts", {})) for r in replies if worker in r)

        wait_for(lambda: "consuming" in seen(stuck.pk), timeout=40, what="the account's queue consumed")
        # Its connection drops, and every reconnect fails after the TCP connect (Telegram answering
        # its first request with an error): the account stays held, disconnected, retrying.
        tgsim.fault(
            "inject", "CHAOS_UNREACHABLE", code=400, user_id=stuck_me, method="users.getUsers", count=None
        )
        tgsim.fault("drop_connections", stuck_me)
        wait_for(
            lambda: "connected" not in seen(stuck.pk), timeout=30, what="the host to see it disconnected"
        )
        waiting = [
            commands.send.queue(
                stuck, peer=f"@w{other_me}", text=f"later {n}", random_id=random.getrandbits(63)
            )
            for n in range(POOL)
        ]
        now = commands.send.queue(
            other, peer=f"@w{other_me}", text="right away", random_id=random.getrandbits(63)
        )
        # Before the fix each of the disconnected account's commands held a pool thread for 60 s.
        assert AsyncResult(now).get(timeout=30)["ok"]
        tgsim.fault("clear")
        results = [AsyncResult(task_id).get(timeout=90) for task_id in waiting]
    assert all(result["ok"] for result in results), results
    texts = [m["text"] for m in tgsim.world_call("messages_between", stuck_me, peer)]
    assert sorted(texts) == [f"later {n}" for n in range(POOL)]  # each once
