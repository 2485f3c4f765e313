"""A TCP relay to PostgreSQL for one session host, so a test can take the database away from that host
only: ``freeze()`` holds every byte (queries hang, as behind a dead link), ``cut()`` closes every
connection and refuses new ones (queries fail at once), ``restore()`` relays again."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection

FORWARD, FROZEN, CUT = "forward", "frozen", "cut"


class DbProxy:
    def __init__(self) -> None:
        db = connection.settings_dict
        self._target = (db["HOST"] or "localhost", int(db["PORT"] or 5432))
        self._user, self._name = db["USER"] or "", db["NAME"]
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.mode = FORWARD
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="dbproxy", daemon=True).start()

    @property
    def url(self) -> str:
        """DATABASE_URL for the host process that should reach the database through this relay."""
        return f"postgresql://{self._user}@127.0.0.1:{self.port}/{self._name}"

    def freeze(self) -> None:
        self.mode = FROZEN

    def cut(self) -> None:
        self.mode = CUT
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
            self._sockets.clear()

    def restore(self) -> None:
        self.mode = FORWARD

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == CUT:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                while self.mode == FROZEN:  # hold the bytes: the other side waits, as on a dead link
                    time.sleep(0.05)
                if self.mode == CUT:
                    break
                dst.sendall(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def host_behind_proxy(
    tgsim: Any, host_env: dict[str, str], api_app: Any, tmp_path: Path, *, name: str, prefix: str
) -> Iterator[tuple[Any, int, int, DbProxy]]:
    """An account held and connected by a session host that reaches PostgreSQL through a DbProxy, and a
    user it can message as @<prefix><its Telegram id>: yields (account, its Telegram id, the user's id,
    the proxy). The lease is long (30 s), so cutting the database for a few seconds never costs the
    host the account."""
    from accounts.models import Account
    from tests.support.accounts import new_phone, ready_account
    from tests.support.processes import session_host, wait_for

    account, me = ready_account(tgsim, api_app)
    peer = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"{prefix}{me}")
    proxy = DbProxy()
    env = {**host_env, "DATABASE_URL": proxy.url, "SESSION_LEASE_TTL": "30"}
    try:
        with session_host(name, log_path=tmp_path / "host.log", env=env):
            wait_for(
                lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                timeout=40,
                what="the host to connect the account",
            )
            yield account, me, peer, proxy
    finally:
        proxy.close()
