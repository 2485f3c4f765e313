"""Reconnecting after a dropped connection, and giving up on a connection that never answers."""

from __future__ import annotations

import threading
import time

import pytest

from accounts import sessions
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MESSAGES = 150
DROPS = 8


def test_messages_received_across_repeated_connection_drops_are_all_stored_exactly_once(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    dana = tgsim.world_call("create_user", phone=new_phone(), first_name="Dana")
    inbox = Message.objects.filter(conversation__account=account)
    expected = [f"steady stream #{n:03d}" for n in range(MESSAGES)]

    def write_steadily() -> None:
        for text in expected:
            tgsim.world_call("say", dana, to_user_id=me, text=text)
            time.sleep(0.1)

    log = tmp_path / "host.log"
    with session_host("drops", log_path=log, env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=60, what="backfill")
        wait_for(
            lambda: sessions.session_load(account_id=account.pk)[0].date > 0,
            timeout=30,
            what="the first checkpoint",
        )
        # Dana writes without pause while the account's connection drops again and again: some messages
        # are pushed, some arrive while the host reconnects and come back through getDifference.
        writer = threading.Thread(target=write_steadily)
        writer.start()
        for _ in range(DROPS):
            time.sleep(1.5)
            wait_for(
                lambda: tgsim.fault("drop_connections", me) >= 1,
                timeout=60,
                what="the account to reconnect (and its connection to drop again)",
            )
        writer.join()
        wait_for(lambda: inbox.count() >= MESSAGES, timeout=90, what="every message to be stored")
        time.sleep(3)  # anything stored twice would show up within a checkpoint or two
        assert sorted(inbox.values_list("text", flat=True)) == expected
        # The account is still live after all that: a message written now arrives too.
        tgsim.world_call("say", dana, to_user_id=me, text="after the storm")
        wait_for(lambda: inbox.filter(text="after the storm").exists(), timeout=60, what="a live message")
    assert inbox.count() == MESSAGES + 1
    # Two update loops on one client race on its message box until Telethon gives up on it.
    assert "Fatal error handling updates" not in log.read_text()
