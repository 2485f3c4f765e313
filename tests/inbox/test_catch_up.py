from __future__ import annotations

import time

import pytest

from accounts import sessions
from accounts.models import Account
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DOWNTIME = 30.0


def test_messages_that_arrive_while_the_host_is_down_are_all_ingested_exactly_once(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    dana = tgsim.world_call("create_user", phone=new_phone(), first_name="Dana")
    log = tmp_path / "host.log"
    with session_host("a", log_path=log, env=host_env):
        wait_for(
            lambda: account.events.filter(kind="inbox_backfilled").exists(),
            timeout=30,
            what="the account to connect and backfill",
        )
        tgsim.world_call("say", dana, to_user_id=me, text="before the outage")
        wait_for(
            lambda: Message.objects.filter(conversation__account=account).count() == 1,
            timeout=15,
            what="the first message",
        )

    # The host is gone for DOWNTIME seconds; Dana writes 100 messages meanwhile.
    down_since = time.monotonic()
    for n in range(100):
        tgsim.world_call("say", dana, to_user_id=me, text=f"while you were away #{n:03d}")
        time.sleep(max(0.0, down_since + DOWNTIME * (n + 1) / 100 - time.monotonic()))
    assert not Account.objects.get(pk=account.pk).lease.holder

    with session_host("b", log_path=log, env=host_env):
        wait_for(
            lambda: Message.objects.filter(conversation__account=account).count() >= 101,
            timeout=60,
            what="the catch-up",
        )
        time.sleep(1.5)  # anything ingested twice would show up within a flush or two

    texts = list(Message.objects.filter(conversation__account=account).values_list("text", flat=True))
    away = [t for t in texts if t.startswith("while you were away")]
    assert len(away) == 100 and len(set(away)) == 100
    assert sorted(away) == [f"while you were away #{n:03d}" for n in range(100)]
    conversation = account.conversations.get(peer_id=dana)
    assert conversation.unread_count == 101
    assert conversation.last_message_preview == "while you were away #099"


def test_a_host_killed_mid_stream_loses_nothing_and_the_next_host_stores_everything_once(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    ivan = tgsim.world_call("create_user", phone=new_phone(), first_name="Ivan")
    log = tmp_path / "host.log"
    with session_host("a", log_path=log, env=host_env) as host:
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        # A brand-new import has no update state until the host's first checkpoint (taken as soon as
        # the session is known to work): wait until it is stored.
        wait_for(
            lambda: sessions.session_load(account_id=account.pk)[0].date > 0,
            timeout=30,
            what="the first checkpoint",
        )
        for n in range(60):
            tgsim.world_call("say", ivan, to_user_id=me, text=f"burst #{n:02d}")
        host.kill()  # kill -9 while the burst is being ingested: no checkpoint, no lease release
        host.wait()
    for n in range(60, 80):
        tgsim.world_call("say", ivan, to_user_id=me, text=f"burst #{n:02d}")

    with session_host("b", log_path=log, env=host_env):
        wait_for(
            lambda: Message.objects.filter(conversation__account=account).count() >= 80,
            timeout=60,
            what="the next host to catch up",
        )
        time.sleep(1.5)
    texts = sorted(Message.objects.filter(conversation__account=account).values_list("text", flat=True))
    assert texts == [f"burst #{n:02d}" for n in range(80)]
