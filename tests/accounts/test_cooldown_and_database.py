"""A cooldown that ends while the database is away (a restart) still resumes the account's queue: its
commands run once the database is back (found by the chaos run, docs/chaos.md)."""

from __future__ import annotations

import random
import time

import pytest
from celery.result import AsyncResult
from django.utils import timezone

from accounts import commands
from accounts.models import Account
from tests.support.dbproxy import host_behind_proxy
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_cooldown_ending_while_the_database_is_cut_off_still_runs_the_held_command(
    tgsim, host_env, api_app, tmp_path
):
    with host_behind_proxy(tgsim, host_env, api_app, tmp_path, name="cooldown", prefix="cd") as held:
        account, me, peer, proxy = held
        # The 30 s lease keeps the account on this host, with the queue it paused for the cooldown.
        tgsim.fault("inject", "FLOOD_WAIT_5", user_id=me, method="messages.sendMessage")
        task_id = commands.send.queue(
            account, peer=f"@cd{me}", text="after the cooldown", random_id=random.getrandbits(63)
        )
        ends = wait_for(
            lambda: (
                Account.objects.filter(pk=account.pk, status="cooldown")
                .values_list("cooldown_until", flat=True)
                .first()
            ),
            timeout=30,
            what="the cooldown",
        )
        # The host resumes the queue at cooldown_until: take the database away around that moment.
        time.sleep(max(0.0, (ends - timezone.now()).total_seconds() - 1.0))
        proxy.cut()
        time.sleep(3.0)
        proxy.restore()
        result = AsyncResult(task_id).get(timeout=40)
        wait_for(
            lambda: Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE,
            timeout=40,
            what="the status to come back to active",
        )
    assert result["ok"], result
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, peer)]
    assert texts.count("after the cooldown") == 1
