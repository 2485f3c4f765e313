"""tgsim's TCP front end: connections, the auth key store, sessions, pushes and the API call gate.

Server accepts Telethon connections, runs the key handshake on unencrypted packets, decrypts the rest,
routes each to its ClientSession (mtproto.py) and, via Server.call, to the API handlers registered in
tgsim.rpc.HANDLERS - after the checks Telegram makes first: dead or duplicated keys, bans, injected
faults, sign-in and flood limits.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from telethon.tl import types

from tgsim import crypto, transport
from tgsim.connection import Connection
from tgsim.faults import Faults, FloodMeter
from tgsim.handshake import NewAuthKey
from tgsim.keys import AuthKeyRecord
from tgsim.limits import Limits
from tgsim.mtproto import ClientSession, MsgIdClock, maybe_gzip, tl_name
from tgsim.rpc import HANDLERS, Call, Handler, RpcError

log = logging.getLogger(__name__)

# What Telegram serves to an auth key that is not signed in; anything else is 401 AUTH_KEY_UNREGISTERED.
_UNAUTHED_PREFIXES = ("auth.", "help.", "langpack.")
_UNAUTHED_METHODS = frozenset({"account.getPassword", "account.deleteAccount"})

# The session whose request is being handled, so helpers such as Server.authorizations can tell which
# authorization is "current" without every handler passing it along.
current_session: contextvars.ContextVar[ClientSession | None] = contextvars.ContextVar(
    "tgsim_current_session", default=None
)


class Server:
    def __init__(
        self,
        world: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        key: crypto.RsaKey | str | Path | None = None,
        dc_id: int = 2,
        limits: Limits | None = None,
        faults: Faults | None = None,
        handlers: Mapping[int, Handler] | None = None,
    ) -> None:
        self.world = world
        self.host = host
        self.port = port
        self.dc_id = dc_id
        if key is None:
            key = crypto.generate_rsa_key()
        elif isinstance(key, str | Path):
            key = crypto.load_or_create_rsa_key(key)
        self.rsa_key: crypto.RsaKey = key
        self.fingerprint = crypto.rsa_fingerprint(key)
        self.limits = limits or Limits()
        self.flood = FloodMeter(self.limits)
        self.faults = faults or Faults()
        self.faults.attach(self)
        self._explicit_handlers = handlers
        self.handlers: Mapping[int, Handler] = handlers if handlers is not None else HANDLERS
        self.keys: dict[int, AuthKeyRecord] = {}
        self._user_keys: dict[int, set[AuthKeyRecord]] = {}
        self.connections: set[Connection] = set()
        self._plain_clock = MsgIdClock()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        # What happened on the wire (connections, auth_keys_created, bad_server_salt, gzip_in ...), so
        # tests can tell that a path they drive through Telethon was really taken.
        self.stats: collections.Counter[str] = collections.Counter()

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self._explicit_handlers is None:
            import tgsim.handlers  # noqa: F401  (importing the package registers every handler)
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def public_key_pem(self) -> str:
        return crypto.public_key_pem(self.rsa_key)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        self.stats["connections"] += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.serve()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for session in conn.sessions:
            if session.connection is conn:
                session.connection = None
                # Telethon opens a fresh session id on every connection, so a session whose connection
                # closed is over; a client reusing the id later just gets new_session_created again.
                session.auth_key.sessions.pop(session.session_id, None)
        conn.sessions.clear()

    # --- keys and sessions --------------------------------------------------------------------------

    def _register_key(self, new: NewAuthKey, ip: str) -> None:
        self.stats["auth_keys_created"] += 1
        self.keys[new.key_id] = AuthKeyRecord(
            key=new.key, key_id=new.key_id, salt=new.salt, temp_expires=new.temp_expires, ip=ip
        )

    def _receive_encrypted(self, conn: Connection, key_id: int, packet: bytes) -> None:
        rec = self.keys.get(key_id)
        if rec is None:
            # Telegram answers a packet under an unknown key with the -404 transport error.
            conn.write(transport.error_packet(404))
            self.stats["transport_404"] += 1
            return
        plain = crypto.decrypt_client_message(rec.key, packet)
        if plain is None:
            raise transport.TransportError("msg_key mismatch")
        salt, session_id, msg_id, seqno, length = struct.unpack_from("<qqqii", plain)
        padding = len(plain) - 32 - length
        if length < 0 or length % 4 or not 12 <= padding <= 1024:
            raise transport.TransportError("bad message length or padding")
        rec.ip = conn.ip
        rec.date_active = int(time.time())
        session = rec.sessions.get(session_id)
        if session is None:
            self._check_duplicate(rec, conn)
            session = rec.sessions[session_id] = ClientSession(self, rec, session_id, conn)
        if session.connection is not conn:
            session.connection = conn  # the client moved this session to a new connection
        conn.sessions.add(session)
        session.receive(salt, msg_id, seqno, plain[32 : 32 + length])

    def _check_duplicate(self, rec: AuthKeyRecord, conn: Connection) -> None:
        """A new session on a key already busy on another live connection is AUTH_KEY_DUPLICATED (one
        session file run twice); a stale one (a crashed client's half-open socket) is closed instead."""
        now = time.monotonic()
        for other in list(rec.sessions.values()):
            oc = other.connection
            if oc is None or oc is conn or not oc.alive:
                continue
            if now - oc.last_recv <= self.faults.duplicate_window:
                rec.duplicated = True
                self.stats["auth_key_duplicated"] += 1
            else:
                oc.close()

    def destroy_session(self, rec: AuthKeyRecord, session_id: int, *, keep: ClientSession) -> bool:
        session = rec.sessions.get(session_id)
        if session is None or session is keep:
            return False
        del rec.sessions[session_id]
        return True

    def _keys_for(self, target: int) -> list[AuthKeyRecord]:
        """``target`` is an auth_key_id if one matches, else a user id."""
        if target in self.keys:
            return [self.keys[target]]
        return list(self._user_keys.get(target, ()))

    def forget_key(self, target: int) -> int:
        recs = self._keys_for(target)
        for rec in recs:
            self.keys.pop(rec.key_id, None)
            self._set_user(rec, None)
        return len(recs)

    def unregister_key(self, target: int) -> int:
        recs = self._keys_for(target)
        for rec in recs:
            self._set_user(rec, None)
        return len(recs)

    def revoke_user_keys(self, user_id: int, error: str) -> int:
        recs = list(self._user_keys.get(user_id, ()))
        for rec in recs:
            rec.revoked = error
            self._set_user(rec, None)
        return len(recs)

    def rotate_salts(self, user_id: int | None = None) -> int:
        recs = list(self.keys.values()) if user_id is None else list(self._user_keys.get(user_id, ()))
        for rec in recs:
            rec.rotate_salt(grace=0)
        return len(recs)

    def drop_connections(self, user_id: int | None = None) -> int:
        dropped = 0
        for conn in list(self.connections):
            if user_id is None or any(s.user_id == user_id for s in conn.sessions):
                conn.close()
                dropped += 1
        return dropped

    def dump_keys(self) -> list[dict[str, Any]]:
        return [rec.dump() for rec in self.keys.values() if rec.temp_expires is None]

    def load_keys(self, data: list[dict[str, Any]]) -> None:
        for item in data:
            rec = AuthKeyRecord.load(item)
            self.keys[rec.key_id] = rec
            if rec.user_id is not None:
                self._user_keys.setdefault(rec.user_id, set()).add(rec)

    # --- the API the world and handlers use ---------------------------------------------------------

    def _set_user(self, rec: AuthKeyRecord, user_id: int | None) -> None:
        if rec.user_id is not None:
            self._user_keys.get(rec.user_id, set()).discard(rec)
        rec.user_id = user_id
        if user_id is not None:
            self._user_keys.setdefault(user_id, set()).add(rec)

    def bind_user(self, session: ClientSession, user_id: int) -> None:
        """Sign the session's auth key in (auth.signIn / signUp / checkPassword): every session on the key,
        now and after reconnects, acts as this user."""
        rec = session.auth_key
        self._set_user(rec, user_id)
        rec.revoked = None
        rec.date_created = int(time.time())

    def unbind(self, session: ClientSession) -> None:
        """auth.logOut: the key stays valid but is no longer signed in."""
        self._set_user(session.auth_key, None)

    def authorizations(self, user_id: int, current: ClientSession | None = None) -> list[types.Authorization]:
        """account.getAuthorizations: the user's signed-in keys, oldest first; `current` defaults to the
        session whose request is being handled."""
        recs = sorted(self._user_keys.get(user_id, ()), key=lambda r: r.date_created)
        current = current or current_session.get()
        cur = current.auth_key if current is not None else None
        return [rec.authorization(current=rec is cur) for rec in recs]

    def reset_authorization(self, user_id: int, hash: int) -> bool:
        """account.resetAuthorization: sign that key out; its next call answers AUTH_KEY_UNREGISTERED."""
        for rec in list(self._user_keys.get(user_id, ())):
            if rec.hash == hash:
                self._set_user(rec, None)
                return True
        return False

    def sessions_of(self, user_id: int) -> list[ClientSession]:
        return [s for rec in self._user_keys.get(user_id, ()) for s in rec.sessions.values()]

    def push(self, user_id: int, updates: Any, *, exclude: ClientSession | None = None) -> int:
        """Send an Updates object to the user's live sessions; returns how many got it. Per auth key
        Telegram delivers to the session most recently active that did not opt out of updates."""
        targets: list[ClientSession] = []
        for rec in self._user_keys.get(user_id, ()):
            best: ClientSession | None = None
            for s in rec.sessions.values():
                if s is exclude or s.no_updates or s.connection is None or s.connection.closed:
                    continue
                if best is None or s.last_active > best.last_active:
                    best = s
            if best is not None:
                targets.append(best)
        if targets:  # serialising is the costly part; skip it when nobody is listening
            body = maybe_gzip(updates if isinstance(updates, bytes) else updates._bytes(), self.stats)
            for session in targets:
                session.push(body)
        return len(targets)

    async def call(self, session: ClientSession, request: Any) -> Any:
        """Run one API request through Telegram's pre-checks, then its handler.

        A duplicated key refuses everything, initConnection included (Telethon's connect() raises
        AuthKeyDuplicatedError). Revoked keys and banned users still get help.* / auth.* - the client
        connects, and its first real call (Telethon's get_me swallows 401s) raises the 401.
        """
        method = tl_name(type(request))
        rec = session.auth_key
        if rec.duplicated:
            raise RpcError(406, "AUTH_KEY_DUPLICATED")
        needs_auth = not (method.startswith(_UNAUTHED_PREFIXES) or method in _UNAUTHED_METHODS)
        if needs_auth and rec.revoked:
            raise RpcError(401, rec.revoked)
        user_id = rec.user_id
        await self.faults.before_call(user_id, method, needs_auth=needs_auth)
        if needs_auth and user_id is None:
            raise RpcError(401, "AUTH_KEY_UNREGISTERED")
        self.flood.check(user_id if user_id is not None else ("key", rec.key_id), method)
        handler = self.handlers.get(type(request).CONSTRUCTOR_ID)
        if handler is None:
            raise RpcError(400, "METHOD_NOT_IMPLEMENTED")
        call = Call(server=self, world=self.world, session=session, user_id=user_id, method=method)
        current_session.set(session)  # each request runs in its own task, hence its own context
        return await handler(call, request)

    def is_online(self, user_id: int) -> bool:
        """Whether any of the user's keys has a live connection (drives user status in the world)."""
        return any(
            s.connection is not None and not s.connection.closed
            for rec in self._user_keys.get(user_id, ())
            for s in rec.sessions.values()
        )
