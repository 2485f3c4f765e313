"""MTProto TCP transports: full, intermediate (and its padded variant) and abridged.

The client announces its transport in its first bytes (core.telegram.org/mtproto/mtproto-transports):
abridged sends a single 0xef, intermediate 0xeeeeeeee, padded intermediate 0xdddddddd, and full sends no
tag at all - its first packet simply starts with a little-endian length and sequence number 0. Anything
else is an obfuscated2 header: 64 random bytes whose AES-CTR-encrypted tail names the inner framing. The
server answers in the same framing. Telethon's ConnectionTcpFull / TcpIntermediate / TcpAbridged /
TcpObfuscated each hit one of these branches.
"""

from __future__ import annotations

import asyncio
import os
import struct
from zlib import crc32

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# A packet bigger than this is garbage or an attack; Telegram's own limit is about 1 MiB of payload.
MAX_PACKET = 2 * 1024 * 1024


class TransportError(Exception):
    """The byte stream is not valid framing; the connection must be closed."""


class Framing:
    name = "base"

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        raise NotImplementedError

    def encode(self, payload: bytes) -> bytes:
        raise NotImplementedError


class FullFraming(Framing):
    """length (4) + seq (4) + payload + crc32 (4); each direction counts its own seq from 0."""

    name = "full"

    def __init__(self, first8: bytes) -> None:
        self._pending_first = first8  # detection consumed the first packet's length and seq
        self._recv_seq = 0
        self._send_seq = 0

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        if self._pending_first is not None:
            head, self._pending_first = self._pending_first, None
        else:
            head = await reader.readexactly(8)
        length, seq = struct.unpack("<ii", head)
        if length < 12 or length > MAX_PACKET:
            raise TransportError(f"bad full-transport length {length}")
        rest = await reader.readexactly(length - 8)
        payload, (crc,) = rest[:-4], struct.unpack("<I", rest[-4:])
        if crc32(head + payload) != crc:
            raise TransportError("bad crc32")
        if seq != self._recv_seq:
            raise TransportError(f"full-transport seq {seq}, expected {self._recv_seq}")
        self._recv_seq += 1
        return payload

    def encode(self, payload: bytes) -> bytes:
        head = struct.pack("<ii", len(payload) + 12, self._send_seq)
        self._send_seq += 1
        return head + payload + struct.pack("<I", crc32(head + payload))


class IntermediateFraming(Framing):
    """length (4) + payload. The padded variant appends 0-3 random bytes the reader drops."""

    name = "intermediate"

    def __init__(self, padded: bool = False) -> None:
        self.padded = padded
        if padded:
            self.name = "padded_intermediate"

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        (length,) = struct.unpack("<I", await reader.readexactly(4))
        length &= 0x7FFFFFFF  # the high bit asks for a quick ack, which tgsim does not send
        if length < 4 or length > MAX_PACKET:
            raise TransportError(f"bad intermediate length {length}")
        payload = await reader.readexactly(length)
        if self.padded:
            payload = payload[: len(payload) - len(payload) % 4]
        return payload

    def encode(self, payload: bytes) -> bytes:
        if self.padded:
            payload += os.urandom(os.urandom(1)[0] % 4)
        return struct.pack("<i", len(payload)) + payload


class AbridgedFraming(Framing):
    """One length byte in 4-byte words, or 0x7f + 3 bytes for long packets."""

    name = "abridged"

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        first = (await reader.readexactly(1))[0] & 0x7F  # the high bit is a quick-ack request
        words = int.from_bytes(await reader.readexactly(3), "little") if first == 0x7F else first
        if words * 4 > MAX_PACKET:
            raise TransportError("abridged packet too large")
        return await reader.readexactly(words * 4)

    def encode(self, payload: bytes) -> bytes:
        words = len(payload) // 4
        if words < 0x7F:
            return bytes([words]) + payload
        return b"\x7f" + words.to_bytes(3, "little") + payload


class _DecryptingReader:
    """readexactly() through the obfuscation cipher, for the inner framing to read from."""

    def __init__(self, reader: asyncio.StreamReader, decrypt: object) -> None:
        self._reader = reader
        self._decrypt = decrypt

    async def readexactly(self, n: int) -> bytes:
        return self._decrypt.update(await self._reader.readexactly(n))


class ObfuscatedFraming(Framing):
    """obfuscated2: AES-256-CTR over an inner abridged/intermediate stream. The client's header carries
    both directions' keys: bytes 8..56 as sent, and the same 48 bytes reversed for the server's side."""

    name = "obfuscated"

    def __init__(self, header: bytes, reader: asyncio.StreamReader) -> None:
        reversed_ = header[8:56][::-1]
        decrypt = Cipher(algorithms.AES(header[8:40]), modes.CTR(header[40:56])).decryptor()
        self._encrypt = Cipher(algorithms.AES(reversed_[:32]), modes.CTR(reversed_[32:48])).encryptor()
        # The client encrypted the whole header with its stream, so decrypting it advances ours in step.
        tag = decrypt.update(header)[56:60]
        if tag == b"\xef\xef\xef\xef":
            self.inner: Framing = AbridgedFraming()
        elif tag in (b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd"):
            self.inner = IntermediateFraming(padded=tag == b"\xdd\xdd\xdd\xdd")
        else:
            raise TransportError("unknown transport")
        self.name = f"obfuscated_{self.inner.name}"
        self._reader = _DecryptingReader(reader, decrypt)

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        return await self.inner.read(self._reader)  # type: ignore[arg-type]

    def encode(self, payload: bytes) -> bytes:
        return self._encrypt.update(self.inner.encode(payload))


async def detect(reader: asyncio.StreamReader) -> Framing:
    """Consume the transport tag (for full: the first length and seq) and return the matching framing."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return AbridgedFraming()
    first4 = first + await reader.readexactly(3)
    if first4 == b"\xee\xee\xee\xee":
        return IntermediateFraming()
    if first4 == b"\xdd\xdd\xdd\xdd":
        return IntermediateFraming(padded=True)
    next4 = await reader.readexactly(4)
    if next4 == b"\0\0\0\0":
        # A full-transport packet: length, then sequence number 0 (obfuscated headers never have zeros here).
        return FullFraming(first4 + next4)
    return ObfuscatedFraming(first4 + next4 + await reader.readexactly(56), reader)


def error_packet(code: int) -> bytes:
    """A transport error such as -404 (unknown auth key) or -429 (transport flood): 4 bytes, int32."""
    return struct.pack("<i", -abs(code))
