"""A command that finishes while the database is away (a restart) has its outcome recorded once the
database is back, instead of leaving its operation queued for ever (found by the chaos run's 10-minute
run, docs/chaos.md: replies sent while PostgreSQL restarted stayed queued)."""

from __future__ import annotations

import random
import time

import pytest

from accounts import commands
from accounts.models import Operation
from tests.support.dbproxy import host_behind_proxy
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_outcome_reached_while_the_database_is_away_is_recorded_once_it_is_back(
    tgsim, host_env, api_app, tmp_path
):
    with host_behind_proxy(tgsim, host_env, api_app, tmp_path, name="outcome", prefix="oc") as held:
        account, me, peer, proxy = held
        served = tgsim.run(lambda: tgsim.faults.served["FLOOD_WAIT_2"])
        # Slept through by the client: the send is under way (its checks done) for 2 s after this.
        tgsim.fault("inject", "FLOOD_WAIT_2", user_id=me, method="messages.sendMessage")
        task_id = commands.send.queue(
            account, peer=f"@oc{me}", text="recorded later", random_id=random.getrandbits(63)
        )
        wait_for(
            lambda: tgsim.run(lambda: tgsim.faults.served["FLOOD_WAIT_2"]) > served,
            timeout=40,
            what="the send to reach Telegram",
        )
        proxy.cut()
        time.sleep(4.0)  # the send ends meanwhile, and its outcome finds no database
        proxy.restore()
        wait_for(
            lambda: Operation.objects.filter(pk=task_id, state=Operation.State.DONE).exists(),
            timeout=40,
            what="the outcome to be recorded",
        )
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, peer)]
    assert texts.count("recorded later") == 1
