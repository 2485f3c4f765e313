"""Checkpoints write only accounts whose update state moved, and what they write covers everything stored:
an idle account costs no write, and a host killed right after a checkpoint loses nothing."""

from __future__ import annotations

import time

import pytest

from accounts import sessions
from accounts.models import TelegramSession
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKPOINT_INTERVAL = 2.0  # SESSION_CHECKPOINT_INTERVAL in host_env


def stored(account) -> tuple[int, object]:
    row = TelegramSession.objects.get(account=account)
    return row.version, row.updated_at


def test_an_idle_account_is_not_rewritten_and_a_kill_after_a_checkpoint_loses_nothing(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    ivan = tgsim.world_call("create_user", phone=new_phone(), first_name="Ivan")
    log = tmp_path / "host.log"
    with session_host("a", log_path=log, env=host_env) as host:
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        wait_for(
            lambda: sessions.session_load(account_id=account.pk)[0].date > 0,
            timeout=30,
            what="the first checkpoint",
        )
        time.sleep(CHECKPOINT_INTERVAL)  # the catch-up on connect settles
        quiet = stored(account)
        quiet_pts = sessions.session_load(account_id=account.pk)[0].pts
        time.sleep(4 * CHECKPOINT_INTERVAL)  # several checkpoints with nothing received
        assert stored(account) == quiet

        for n in range(20):
            tgsim.world_call("say", ivan, to_user_id=me, text=f"before #{n:02d}")
        wait_for(
            lambda: Message.objects.filter(conversation__account=account).count() == 20,
            timeout=30,
            what="the messages to be stored",
        )
        # The checkpoints that follow write the state covering them (each message moves pts by one).
        wait_for(
            lambda: sessions.session_load(account_id=account.pk)[0].pts >= quiet_pts + 20,
            timeout=15,
            what="a checkpoint covering every message",
        )
        assert stored(account)[0] > quiet[0]
        host.kill()  # kill -9 right after the checkpoint: no final save, no release
        host.wait()
    for n in range(5):
        tgsim.world_call("say", ivan, to_user_id=me, text=f"after #{n:02d}")

    with session_host("b", log_path=log, env=host_env):
        wait_for(
            lambda: Message.objects.filter(conversation__account=account).count() >= 25,
            timeout=60,
            what="the next host to catch up",
        )
        time.sleep(1.5)
    texts = sorted(Message.objects.filter(conversation__account=account).values_list("text", flat=True))
    assert texts == sorted([f"before #{n:02d}" for n in range(20)] + [f"after #{n:02d}" for n in range(5)])
