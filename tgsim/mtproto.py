"""One MTProto session's message layer: msg_id/seqno rules, service messages, envelopes and replies.

A ClientSession is what Telegram calls a session: an (auth key, session_id) pair. It checks what the
client sends (core.telegram.org/mtproto/service_messages_about_messages), answers the service messages
itself (ping, msgs_ack, destroy_session, get_future_salts ...), unwraps invokeWithLayer / initConnection /
invokeAfterMsg / invokeWithoutUpdates and hands real API calls to Server.call. Outgoing messages are
batched per event-loop turn into one msg_container, like Telegram does.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import struct
import time
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from telethon.errors import TypeNotFoundError
from telethon.extensions import BinaryReader
from telethon.tl import TLObject, functions, types
from telethon.tl.core import GzipPacked, MessageContainer, RpcResult
from telethon.tl.tlobject import TLRequest

from tgsim import crypto
from tgsim.rpc import RpcError

if TYPE_CHECKING:
    from tgsim.connection import Connection
    from tgsim.keys import AuthKeyRecord
    from tgsim.server import Server

log = logging.getLogger(__name__)

MSG_TOO_OLD = 300  # seconds; bad_msg_notification 16 beyond this (Telegram's documented window)
MSG_TOO_NEW = 30  # seconds; bad_msg_notification 17 beyond this
GZIP_THRESHOLD = 512  # results larger than this go out gzip_packed when that is smaller
VECTOR = 0x1CB5C415
BOOL_TRUE, BOOL_FALSE = 0x997275B5, 0xBC799737

# Wrappers that only change how the inner query runs (or carry metadata tgsim does not model).
_PASSTHROUGH = (
    functions.InvokeWithMessagesRangeRequest,
    functions.InvokeWithTakeoutRequest,
    functions.InvokeWithBusinessConnectionRequest,
    functions.InvokeWithGooglePlayIntegrityRequest,
    functions.InvokeWithApnsSecretRequest,
    functions.InvokeWithReCaptchaRequest,
)
# Client messages that are not content-related (even seqno): acks, containers and state notices.
_NOT_CONTENT = (
    types.MsgsAck,
    MessageContainer,
    types.MsgsStateReq,
    types.MsgsStateInfo,
    types.MsgsAllInfo,
    types.MsgResendReq,
    types.MsgDetailedInfo,
    types.MsgNewDetailedInfo,
)

_tl_names: dict[type, str] = {}


def tl_name(cls: type) -> str:
    """Telegram's name for a request class: messages.SendMessageRequest -> "messages.sendMessage"."""
    name = _tl_names.get(cls)
    if name is None:
        base = cls.__name__.removesuffix("Request")
        base = base[:1].lower() + base[1:]
        namespace = cls.__module__.removeprefix("telethon.tl.functions").lstrip(".")
        name = _tl_names[cls] = f"{namespace}.{base}" if namespace else base
    return name


_long_vectors: dict[type, bool] = {}


def serialize_result(request: Any, result: Any) -> bytes:
    """TL bytes of a handler's result. Handlers may return a TLObject, a bool, a list (Vector<T>) or raw
    bytes; whether a Vector of ints holds int or long is read off the request's own read_result."""
    if isinstance(result, bytes):
        return result
    if isinstance(result, bool):
        return struct.pack("<I", BOOL_TRUE if result else BOOL_FALSE)
    if isinstance(result, list):
        head = struct.pack("<Ii", VECTOR, len(result))
        if result and isinstance(result[0], int):
            cls = type(request)
            if cls not in _long_vectors:
                _long_vectors[cls] = "read_long" in inspect.getsource(cls.read_result)
            fmt = "<q" if _long_vectors[cls] else "<i"
            return head + b"".join(struct.pack(fmt, x) for x in result)
        return head + b"".join(x._bytes() for x in result)
    return result._bytes()


def maybe_gzip(body: bytes, stats: Counter[str]) -> bytes:
    """gzip_packed for large results and updates, when it actually saves bytes (as Telegram does)."""
    if len(body) > GZIP_THRESHOLD:
        packed = GzipPacked(body).__bytes__()
        if len(packed) < len(body):
            stats["gzip_out"] += 1
            return packed
    return body


class MsgIdClock:
    """Server msg_ids: time-based, strictly increasing, ``% 4 == 1`` for answers and ``3`` otherwise."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, residue: int) -> int:
        candidate = max(int(time.time() * 2**32), self._last + 1)
        candidate += (residue - candidate) % 4
        self._last = candidate
        return candidate


class ClientSession:
    def __init__(self, server: Server, auth_key: AuthKeyRecord, session_id: int, connection: Connection):
        self.server = server
        self.auth_key = auth_key
        self.session_id = session_id
        self.connection: Connection | None = connection
        self.layer: int | None = None
        self.init: dict[str, Any] = {}
        self.no_updates = False
        self.last_active = time.monotonic()
        self._announced = False  # new_session_created sent
        self._unique_id = struct.unpack("<q", os.urandom(8))[0]
        # Receive-side msg_id / seqno state (accepted messages only).
        self._seen: deque[int] = deque(maxlen=1000)
        self._seen_set: set[int] = set()
        self._top_id = 0
        self._top_seqno = 0
        # Send side.
        self._clock = MsgIdClock()
        self._content_sent = 0
        self._outbox: list[tuple[int, int, bytes]] = []
        self._flush_scheduled = False
        self._done: dict[int, asyncio.Future[None]] = {}  # requests in flight, by msg_id
        self._acked: set[int] = set()

    @property
    def auth_key_id(self) -> int:
        return self.auth_key.key_id

    @property
    def user_id(self) -> int | None:
        return self.auth_key.user_id

    def __repr__(self) -> str:
        return f"<ClientSession key={self.auth_key_id:016x} session={self.session_id} user={self.user_id}>"

    # --- outgoing ---------------------------------------------------------------------------------

    def send(
        self, body: bytes, *, content_related: bool = True, answer: bool = True, alone: bool = False
    ) -> None:
        """Queue one message; everything queued in this loop turn leaves as one encrypted packet.

        ``alone`` sends it at once in a packet of its own: clients skip their clock check only for a
        bad_msg_notification / bad_server_salt at the top level, never inside a container, and those
        are exactly the messages a client with a wrong clock must be able to read."""
        if alone:
            self._flush()
        msg_id = self._clock.next(1 if answer else 3)
        if content_related:
            seqno = self._content_sent * 2 + 1
            self._content_sent += 1
        else:
            seqno = self._content_sent * 2
        self._outbox.append((msg_id, seqno, body))
        if alone:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def send_obj(self, obj: TLObject, *, content_related: bool = True, alone: bool = False) -> None:
        self.send(obj._bytes(), content_related=content_related, alone=alone)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        # Like Telegram, acknowledge requests still being worked on when something else goes out anyway;
        # quick ones are acknowledged by their rpc_result alone.
        unacked = [i for i in self._done if i not in self._acked]
        if unacked:
            self._acked.update(unacked)
            body = types.MsgsAck(unacked)._bytes()
            self._outbox.append((self._clock.next(1), self._content_sent * 2, body))
        self._flush()

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        conn = self.connection
        if not outbox or conn is None or conn.closed:
            return  # nobody to deliver to; the client catches up with getDifference
        if len(outbox) == 1:
            msg_id, seqno, body = outbox[0]
        else:
            parts = [struct.pack("<Ii", MessageContainer.CONSTRUCTOR_ID, len(outbox))]
            parts += [struct.pack("<qii", i, s, len(b)) + b for i, s, b in outbox]
            body = b"".join(parts)
            msg_id, seqno = self._clock.next(1), self._content_sent * 2
            self.server.stats["containers_out"] += 1
        key = self.auth_key
        plain = struct.pack("<qqqii", key.salt, self.session_id, msg_id, seqno, len(body)) + body
        conn.write(crypto.encrypt_server_message(key.key, key.key_id, plain))

    # --- incoming ---------------------------------------------------------------------------------

    def receive(self, salt: int, msg_id: int, seqno: int, body: bytes) -> None:
        """Handle one decrypted top-level message."""
        self.last_active = time.monotonic()
        code = self._msg_id_error(msg_id)
        if code:
            self.server.stats[f"bad_msg_{code}"] += 1
            self.send_obj(types.BadMsgNotification(msg_id, seqno, code), content_related=False, alone=True)
            return
        if not self.auth_key.salt_ok(salt):
            self.server.stats["bad_server_salt"] += 1
            # The client must resend with the new salt; Telethon re-queues the message on its own.
            self.send_obj(
                types.BadServerSalt(msg_id, seqno, 48, self.auth_key.salt), content_related=False, alone=True
            )
            return
        if not self._announced:
            self._announced = True
            self.server.stats["new_session_created"] += 1
            self.send_obj(types.NewSessionCreated(msg_id, self._unique_id, self.auth_key.salt))
        try:
            obj = BinaryReader(body).tgread_object()
        except TypeNotFoundError as exc:
            log.info("unknown constructor %08x from %r", exc.invalid_constructor_id, self)
            self._answer(msg_id, types.RpcError(400, "INPUT_METHOD_INVALID")._bytes())
            return
        self._process(msg_id, seqno, obj)

    def _msg_id_error(self, msg_id: int) -> int | None:
        if msg_id % 4:
            return 18  # client msg_ids are divisible by 4
        delta = (msg_id >> 32) - time.time()
        if delta < -MSG_TOO_OLD:
            return 16
        if delta > MSG_TOO_NEW:
            return 17
        return None

    def _seqno_error(self, msg_id: int, seqno: int, obj: object) -> int | None:
        """Codes 32-35 as Telegram defines them; a well-behaved client never sees one."""
        content = not isinstance(obj, _NOT_CONTENT)
        if content and seqno % 2 == 0:
            return 34
        if not content and seqno % 2:
            return 35
        if self._top_id:
            same_odd = seqno == self._top_seqno and seqno % 2 == 1
            if msg_id > self._top_id and (seqno < self._top_seqno or same_odd):
                return 32
            if msg_id < self._top_id and (seqno > self._top_seqno or same_odd):
                return 33
        return None

    def _accept(self, msg_id: int, seqno: int) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(msg_id)
        self._seen_set.add(msg_id)
        if msg_id > self._top_id:
            self._top_id, self._top_seqno = msg_id, seqno

    def _process(self, msg_id: int, seqno: int, obj: object) -> None:
        if msg_id in self._seen_set:
            return  # a re-sent message we already handled
        code = self._seqno_error(msg_id, seqno, obj)
        if code:
            self.server.stats[f"bad_msg_{code}"] += 1
            self.send_obj(types.BadMsgNotification(msg_id, seqno, code), content_related=False)
            return
        self._accept(msg_id, seqno)

        if isinstance(obj, MessageContainer):
            self.server.stats["containers_in"] += 1
            for inner in obj.messages:
                if isinstance(inner.obj, MessageContainer):
                    self.send_obj(
                        types.BadMsgNotification(inner.msg_id, inner.seq_no, 64), content_related=False
                    )
                    continue
                self._process(inner.msg_id, inner.seq_no, inner.obj)
        elif isinstance(obj, GzipPacked):
            self.server.stats["gzip_in"] += 1
            self._service_or_call(msg_id, BinaryReader(obj.data).tgread_object())
        else:
            self._service_or_call(msg_id, obj)

    def _service_or_call(self, msg_id: int, obj: object) -> None:
        if isinstance(obj, types.MsgsAck | types.MsgResendReq | types.MsgsAllInfo | types.MsgsStateInfo):
            return
        if isinstance(obj, functions.PingRequest):
            self.send_obj(types.Pong(msg_id, obj.ping_id))
        elif isinstance(obj, functions.PingDelayDisconnectRequest):
            # Telegram closes the connection if no new ping arrives within disconnect_delay seconds.
            self.send_obj(types.Pong(msg_id, obj.ping_id))
            if self.connection is not None:
                self.connection.close_after(obj.disconnect_delay)
        elif isinstance(obj, functions.DestroySessionRequest):
            dropped = self.server.destroy_session(self.auth_key, obj.session_id, keep=self)
            cls = types.DestroySessionOk if dropped else types.DestroySessionNone
            self.send_obj(cls(obj.session_id))
        elif isinstance(obj, functions.GetFutureSaltsRequest):
            self.send_obj(self.auth_key.future_salts(msg_id, obj.num))
        elif isinstance(obj, functions.DestroyAuthKeyRequest):
            self.server.forget_key(self.auth_key.key_id)
            self.send_obj(types.DestroyAuthKeyOk())
        elif isinstance(obj, types.MsgsStateReq):
            info = "".join(chr(4) if i in self._seen_set else chr(1) for i in obj.msg_ids)
            self.send_obj(types.MsgsStateInfo(msg_id, info), content_related=False)
        elif isinstance(obj, functions.RpcDropAnswerRequest):
            self._answer(msg_id, types.RpcAnswerUnknown()._bytes())
        elif isinstance(obj, TLRequest):
            self._done[msg_id] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._run(msg_id, obj))
        else:
            log.debug("ignoring %s from %r", type(obj).__name__, self)

    async def _run(self, msg_id: int, request: Any) -> None:
        try:
            request = await self._unwrap(request)
            try:
                if isinstance(request, functions.PingRequest | functions.PingDelayDisconnectRequest):
                    # A ping wrapped in invokeWithoutUpdates & co. is an ordinary RPC with a pong result.
                    result = types.Pong(msg_id, request.ping_id)
                else:
                    result = await self.server.call(self, request)
                body = serialize_result(request, result)
            except RpcError as exc:
                body = types.RpcError(exc.code, exc.message)._bytes()
            except Exception:
                log.exception("handler for %s failed", tl_name(type(request)))
                body = types.RpcError(500, "INTERNAL_SERVER_ERROR")._bytes()
            self._answer(msg_id, body)
        finally:
            self._acked.discard(msg_id)
            done = self._done.pop(msg_id, None)
            if done is not None and not done.done():
                done.set_result(None)

    async def _unwrap(self, request: Any) -> Any:
        while True:
            if isinstance(request, functions.InvokeWithLayerRequest):
                self.layer = self.auth_key.layer = request.layer
            elif isinstance(request, functions.InitConnectionRequest):
                self.init = {
                    "api_id": request.api_id,
                    "device_model": request.device_model,
                    "system_version": request.system_version,
                    "app_version": request.app_version,
                    "lang_code": request.lang_code,
                    "system_lang_code": request.system_lang_code,
                    "lang_pack": request.lang_pack,
                }
                self.auth_key.init = dict(self.init)
            elif isinstance(request, functions.InvokeWithoutUpdatesRequest):
                self.no_updates = True
            elif isinstance(request, functions.InvokeAfterMsgRequest | functions.InvokeAfterMsgsRequest):
                # Run strictly after the named messages finished (those still in flight here).
                ids = [request.msg_id] if hasattr(request, "msg_id") else request.msg_ids
                waits = [self._done[i] for i in ids if i in self._done]
                if waits:
                    await asyncio.wait(waits, timeout=30)
            elif not isinstance(request, _PASSTHROUGH):
                return request
            request = request.query

    def _answer(self, req_msg_id: int, body: bytes) -> None:
        body = maybe_gzip(body, self.server.stats)
        self.send(struct.pack("<Iq", RpcResult.CONSTRUCTOR_ID, req_msg_id) + body)

    def push(self, body: bytes) -> None:
        """Deliver a server-originated Updates object (msg_id % 4 == 3, content-related)."""
        self.send(body, answer=False)
