"""One client TCP connection: transport framing, the plain-text key handshake, and hand-off of encrypted
packets to the Server, which routes them to their sessions."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from typing import TYPE_CHECKING

from telethon.extensions import BinaryReader

from tgsim import transport
from tgsim.handshake import Handshake, HandshakeError

if TYPE_CHECKING:
    from tgsim.mtproto import ClientSession
    from tgsim.server import Server

log = logging.getLogger(__name__)

MAX_UNREAD = 16 * 1024 * 1024  # bytes queued for a client before it counts as gone


class Connection:
    """One client TCP connection; it may carry sessions of one (normally) or several auth keys."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self.ip: str = peer[0] if peer else ""
        self.framing: transport.Framing | None = None
        self.closed = False
        self.last_recv = time.monotonic()
        self.sessions: set[ClientSession] = set()
        self._handshake: Handshake | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    async def serve(self) -> None:
        try:
            self.framing = await transport.detect(self._reader)
            while not self.closed:
                packet = await self.framing.read(self._reader)
                self.last_recv = time.monotonic()
                self._on_packet(packet)
        except (asyncio.IncompleteReadError, ConnectionError, transport.TransportError):
            pass
        except HandshakeError as exc:
            log.info("handshake from %s failed: %s", self.ip, exc)
        except Exception:
            # A malformed message must cost the client its connection, never the server its loop.
            log.exception("closing connection from %s", self.ip)
        finally:
            self.close()
            self.server._connection_closed(self)

    def _on_packet(self, packet: bytes) -> None:
        if len(packet) < 20:
            raise transport.TransportError("packet too short")
        (key_id,) = struct.unpack_from("<Q", packet)
        if key_id == 0:
            self._plain(packet)
        else:
            self.server._receive_encrypted(self, key_id, packet)

    def _plain(self, packet: bytes) -> None:
        """An unencrypted message: only the auth key handshake may travel this way."""
        _msg_id, length = struct.unpack_from("<qi", packet, 8)
        try:
            request = BinaryReader(packet[20 : 20 + length]).tgread_object()
        except Exception as exc:
            raise HandshakeError("undecodable plain message") from exc
        if self._handshake is None:
            self._handshake = Handshake(self.server.rsa_key, self.server.fingerprint)
        answer, new_key = self._handshake.handle(request)
        if new_key is not None:
            self.server._register_key(new_key, self.ip)
        body = answer._bytes()
        self.write(struct.pack("<qqi", 0, self.server._plain_clock.next(1), len(body)) + body)

    @property
    def alive(self) -> bool:
        """Open and not yet at EOF (a client that hung up may not have been reaped by serve() yet)."""
        return not self.closed and not self._reader.at_eof()

    def write(self, payload: bytes) -> None:
        if self.closed or self.framing is None:
            return
        self._writer.write(self.framing.encode(payload))
        # Writes never wait for the client; one that stops reading is cut off instead of buffering
        # without bound (it reconnects and catches up with getDifference, as on Telegram).
        if self._writer.transport.get_write_buffer_size() > MAX_UNREAD:
            log.warning("closing connection from %s: %d bytes unread", self.ip, MAX_UNREAD)
            self.close()

    def close(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if not self.closed:
            self.closed = True
            self._writer.close()

    def close_after(self, delay: float) -> None:
        """ping_delay_disconnect: close unless another such ping re-arms the timer in time."""
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._close_timer = asyncio.get_running_loop().call_later(delay, self.close)
