"""A session host consumes the queue of every account it holds, even after the Celery consumer lost it
(a queue change pending while the broker connection dropped; found by the chaos run, docs/chaos.md)."""

from __future__ import annotations

import random

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account, Lease, command_queue
from crm.celery import app as celery_app
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_held_account_whose_queue_the_consumer_stopped_consuming_gets_its_commands_run(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app)
    peer = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"q{me}")
    with session_host("queues", log_path=tmp_path / "host.log", env=host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=40,
            what="the host to connect the account",
        )
        queue = command_queue(account.pk)
        worker = Lease.objects.get(pk=account.pk).holder.split("/")[0]

        def consumed() -> bool:
            active = celery_app.control.inspect(destination=[worker], timeout=5).active_queues() or {}
            return any(q["name"] == queue for queues in active.values() for q in queues)

        wait_for(consumed, timeout=40, what="the host to consume the account's queue")
        # Behind the host's back, as a lost queue change leaves it: the consumer stops consuming the queue.
        replies = celery_app.control.cancel_consumer(queue, destination=[worker], reply=True, timeout=10)
        assert replies, "the host's worker answered"
        task_id = commands.send.queue(
            account, peer=f"@q{me}", text="run all the same", random_id=random.getrandbits(63)
        )
        result = AsyncResult(task_id).get(timeout=40)
    assert result["ok"], result
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, peer)]
    assert texts.count("run all the same") == 1
