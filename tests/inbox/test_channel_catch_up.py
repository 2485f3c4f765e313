"""What a supergroup received while the account was offline is caught up on reconnect, also for a group
the account had not heard from before it went offline (found by the chaos run, docs/chaos.md: a
group's first messages were lost for accounts that reconnected before any of them arrived live)."""

from __future__ import annotations

import pytest

from accounts.models import Account, AccountEvent, Lease
from accounts.services import event_record
from crm.celery import app as celery_app
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_group_silent_until_the_account_went_offline_is_caught_up_when_it_is_back(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    bob = tgsim.world_call("create_user", phone=new_phone(), first_name="Bob")
    group = tgsim.world_call("create_group", title="Quiet buyers", owner_id=bob, members=[me])
    # Backfilled in an earlier life: only the update state brings the group's news from now on.
    event_record(account=account, kind=AccountEvent.Kind.INBOX_BACKFILL_QUEUED)
    with session_host("first", log_path=tmp_path / "first.log", env=host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=40,
            what="the host to connect the account",
        )
        wait_for(lambda: tgsim.run(lambda: tgsim.sim.server.is_online(me)), timeout=20, what="online")
    tgsim.world_call("say", bob, to_chat_id=group, text="Posted while you were away")
    with session_host("second", log_path=tmp_path / "second.log", env=host_env):
        wait_for(
            lambda: Message.objects.filter(
                conversation__account=account, text="Posted while you were away"
            ).exists(),
            timeout=40,
            what="the group's message from while the account was offline",
        )


def test_an_account_whose_channels_cannot_be_listed_connects_all_the_same(tgsim, host_env, api_app, tmp_path):
    account, me, _ = agent(tgsim, api_app)
    tgsim.fault("inject", "FLOOD_WAIT_300", user_id=me, method="messages.getDialogs", count=None)
    with session_host("listless", log_path=tmp_path / "host.log", env=host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=40,
            what="the host to connect the account",
        )
        worker = Lease.objects.get(pk=account.pk).holder.split("/")[0]

        def connected() -> bool:
            replies = celery_app.control.broadcast(
                "sessionhost_accounts", arguments={"ids": [account.pk]}, reply=True, timeout=5,
                destination=[worker],
            )  # fmt: skip
            return any("connected" in str(r.get(worker, {}).get("accounts", {})) for r in replies)

        wait_for(connected, timeout=30, what="the account ready for commands")
    tgsim.fault("clear")
