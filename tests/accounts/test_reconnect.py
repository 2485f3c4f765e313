"""Reconnecting after a dropped connection, and giving up on a connection that never answers."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from accounts import imports, sessions
from accounts.models import Account, Lease
from inbox.models import Message
from tests.support.accounts import login_session, new_phone
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


class SilentServer:
    """A TCP listener that accepts connections and never answers: a server stuck mid-handshake."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def closed_by_client(self, conn: socket.socket) -> bool:
        """The client hung up: whatever it sent is read, then the end of the stream."""
        conn.settimeout(0.5)
        try:
            while chunk := conn.recv(65536):
                del chunk
        except TimeoutError:
            return False
        except OSError:
            return True
        return True

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_connect_that_never_completes_is_abandoned_and_retried_and_frees_its_slot(
    tgsim, host_env, api_app, tmp_path
):
    silent = SilentServer()
    try:
        # The stuck account's session points at the silent server, the other's at tgsim: without
        # TELEGRAM_DC each client goes where its session says.
        phone = new_phone()
        tgsim.world_call("create_user", phone=phone, first_name="Stuck")
        state = login_session(tgsim, phone=phone)
        state.port = silent.port
        stuck = imports.account_import(state=state, api_app=api_app, phone=phone)
        env = {**host_env, "TELEGRAM_DC": "", "SESSION_CONNECT_TIMEOUT": "3", "SESSION_CONNECT_SLOTS": "1"}
        with session_host("silent", log_path=tmp_path / "host.log", env=env):
            wait_for(lambda: silent.accepted, timeout=60, what="the host to connect to the silent server")
            # The only connect slot is taken by the stuck account; this one queues behind it.
            behind, _, _ = agent(tgsim, api_app)
            wait_for(
                lambda: behind.events.filter(kind="inbox_backfill_queued").exists(),
                timeout=60,
                what="the account behind the stuck one to connect",
            )
            wait_for(lambda: len(silent.accepted) >= 2, timeout=60, what="the stuck account to try again")
            assert silent.closed_by_client(silent.accepted[0])
            # Retrying a network failure keeps the account and its lease.
            stuck.refresh_from_db()
            assert stuck.status == Account.Status.ACTIVE
            assert Lease.objects.get(pk=stuck.pk).holder
    finally:
        silent.close()
