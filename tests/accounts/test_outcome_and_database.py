"""A command that finishes while the database is away (a restart) has its outcome recorded once the
database is back, instead of leaving its operation queued for ever (found by the chaos run's 10-minute
run, docs/chaos.md: replies sent while PostgreSQL restarted stayed queued)."""

from __future__ import annotations

import random
import time

import pytest

from accounts import commands
from accounts.models import Account, Operation
from tests.support.accounts import new_phone, ready_account
from tests.support.dbproxy import DbProxy
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_outcome_reached_while_the_database_is_away_is_recorded_once_it_is_back(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app)
    peer = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"oc{me}")
    proxy = DbProxy()
    # A long lease: the cut below (a few seconds) never costs the host its lease.
    env = {**host_env, "DATABASE_URL": proxy.url, "SESSION_LEASE_TTL": "30"}
    try:
        with session_host("outcome", log_path=tmp_path / "host.log", env=env):
            wait_for(
                lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                timeout=40,
                what="the host to connect the account",
            )
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
    finally:
        proxy.close()
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, peer)]
    assert texts.count("recorded later") == 1
