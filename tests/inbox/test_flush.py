"""The session host's ingestion buffer is stored when something arrives, not on the next tick: an open
inbox shows a message as soon as it is stored and pushed (crm.live)."""

from __future__ import annotations

import asyncio

import pytest

from inbox.ingest import Ingestor


@pytest.mark.asyncio
async def test_an_arrival_in_a_quiet_buffer_is_flushed_without_waiting_for_the_interval(settings):
    settings.INBOX_FLUSH_INTERVAL = 3600  # the old tick would store it in an hour
    settings.INBOX_FLUSH_DELAY = 0
    ingestor = Ingestor()
    flushed: list[int] = []
    stored = asyncio.Event()

    async def flush() -> int:  # the count of what it holds, as Ingestor.flush answers
        flushed.append(len(ingestor.pending.messages))
        ingestor.pending.messages.clear()
        if flushed[-1]:
            stored.set()
        return flushed[-1]

    ingestor.flush = flush  # type: ignore[method-assign]
    ingestor.start()
    try:
        await asyncio.sleep(0.05)
        assert flushed == []  # nothing arrived: nothing to do
        ingestor.add("messages", object())
        await asyncio.wait_for(stored.wait(), timeout=30)
        assert flushed == [1]
    finally:
        ingestor._flusher.cancel()  # type: ignore[union-attr]
