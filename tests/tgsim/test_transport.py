"""Transport framing: what each framing encodes, the reading side takes back, including long packets."""

from __future__ import annotations

import asyncio
import os

import pytest

from tgsim import transport


async def _detect_and_read(wire: bytes, count: int) -> tuple[transport.Framing, list[bytes]]:
    reader = asyncio.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    framing = await transport.detect(reader)
    return framing, [await framing.read(reader) for _ in range(count)]


@pytest.mark.asyncio
@pytest.mark.parametrize("tag", [b"\xef", b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd"])
async def test_tagged_framings_round_trip_short_and_long_packets(tag):
    writer_side = {
        b"\xef": transport.AbridgedFraming(),
        b"\xee\xee\xee\xee": transport.IntermediateFraming(),
        b"\xdd\xdd\xdd\xdd": transport.IntermediateFraming(padded=True),
    }[tag]
    payloads = [os.urandom(64), os.urandom(4096)]  # 4096 bytes needs abridged's 0x7f long form
    framing, got = await _detect_and_read(tag + b"".join(writer_side.encode(p) for p in payloads), 2)
    assert got == payloads
    assert framing.name == writer_side.name


@pytest.mark.asyncio
async def test_full_framing_checks_crc_and_sequence():
    sender = transport.FullFraming(b"")
    packets = [sender.encode(os.urandom(40)) for _ in range(3)]
    framing, got = await _detect_and_read(b"".join(packets), 3)
    assert framing.name == "full" and len(got) == 3

    corrupted = bytearray(packets[0])
    corrupted[12] ^= 0xFF
    with pytest.raises(transport.TransportError, match="crc"):
        await _detect_and_read(bytes(corrupted), 1)
    with pytest.raises(transport.TransportError, match="seq"):
        await _detect_and_read(packets[0] + packets[2], 2)  # seq 2 where 1 was due


@pytest.mark.asyncio
async def test_garbage_header_is_refused():
    with pytest.raises(transport.TransportError):
        await _detect_and_read(b"\x01\x02\x03\x04" + b"\x01" * 60, 1)


def test_error_packet_is_negative_int32():
    assert transport.error_packet(404) == (-404).to_bytes(4, "little", signed=True)
