"""Ingestion on the session host: the Telegram layer's update handlers fill a buffer, a flusher stores it
in batches.

Handlers only convert and append (no awaits, no network), so they keep up with any update rate. The
buffer is flushed INBOX_FLUSH_DELAY seconds after something arrives in a quiet buffer (an open inbox
shows a message within a fraction of a second: pushed once stored), at most once every
INBOX_FLUSH_INTERVAL seconds under load (batches stay large), and before every checkpoint: the session host
saves an account's update state (pts/qts/date/seq) only after what that state covers is stored, so a
host killed at any moment resumes from a state whose messages are already in PostgreSQL, and the
catch-up (getDifference) on the next connection brings the rest. Storage is idempotent, so a message
seen twice (catch-up overlapping live updates, or the backfill) is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from django.conf import settings

from accounts import telegram
from accounts.host.batch import Batched
from accounts.host.current import current_host
from accounts.host.orm import db
from inbox import live, store
from inbox.records import Batch
from inbox.services import backfill_queue, backfills_queued

log = logging.getLogger(__name__)


# After this many failed flushes in a row the batch is stored item by item, skipping what PostgreSQL
# refuses as bad data; an outage still fails the whole flush, and everything stays buffered.
POISON_AFTER = 3


class Ingestor:
    """The per-process buffer of everything received and not yet stored."""

    def __init__(self) -> None:
        self.pending = Batch()
        self._lock: asyncio.Lock | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.stored = 0
        self.failures = 0
        self._arrived = asyncio.Event()

    def add(self, kind: str, item: Any) -> None:
        """Buffer one received item (``kind`` names the Batch list) and wake the flusher."""
        getattr(self.pending, kind).append(item)
        self._arrived.set()

    def start(self) -> None:
        """Start the periodic flush on the running (host) loop, once."""
        if self._flusher is None or self._flusher.done():
            self._lock = asyncio.Lock()
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last = -settings.INBOX_FLUSH_INTERVAL  # when the last flush that stored something began
        while True:
            # Woken by an arrival; the timeout retries a batch a failed flush kept.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=settings.INBOX_FLUSH_INTERVAL)
            # A burst's other items join for INBOX_FLUSH_DELAY; under load, flushes that store keep
            # INBOX_FLUSH_INTERVAL apart, so batches stay large.
            await asyncio.sleep(
                max(settings.INBOX_FLUSH_DELAY, last + settings.INBOX_FLUSH_INTERVAL - loop.time())
            )
            self._arrived.clear()
            began = loop.time()
            try:
                if await self.flush():
                    last = began
            except Exception:
                log.exception("inbox flush failed; keeping the batch for the next try")

    async def flush(self) -> int:
        """Store everything buffered so far; on failure the batch stays buffered (and this raises)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            batch, self.pending = self.pending, Batch()
            if not len(batch):
                return 0
            started = time.monotonic()
            try:
                if self.failures >= POISON_AFTER:
                    touched, skipped = await db(store.ingest_each)(batch)
                    log.warning("inbox: stored a failing batch item by item; %d items skipped", skipped)
                else:
                    touched = await db(store.ingest)(batch)
            except BaseException:
                self.failures += 1
                batch.extend(self.pending)
                self.pending = batch
                raise
            self.failures = 0
            self.stored += len(batch)
            log.debug("inbox: stored %d items in %.0f ms", len(batch), (time.monotonic() - started) * 1000)
        try:
            await db(live.bump)(touched)
        except Exception:  # a missed live update only delays the refresh; the data is stored
            log.warning("inbox: could not signal live updates", exc_info=True)
        return len(batch)


ingestor = Ingestor()
_background: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones


def attach(hosted: Any) -> None:
    """Add the inbox's handlers to a new client (hooks.on_client)."""
    telegram.updates.subscribe(
        hosted.client,
        account_id=hosted.account_id,
        on_message=lambda record: ingestor.add("messages", record),
        on_deletion=lambda deletion: ingestor.add("deletions", deletion),
        on_read=lambda mark: ingestor.add("reads", mark),
    )
    ingestor.start()
    task = asyncio.get_running_loop().create_task(_backfill_once_logged_in(hosted))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def before_checkpoint(hosted: Any) -> None:
    """Store what was received before the account's update state is saved (hooks.on_checkpoint)."""
    # Telethon dispatches updates to handlers in tasks: let those already started append first.
    if hosted.client is not None:
        await telegram.internals.wait_for_event_handlers(hosted.client, timeout=5)
    await ingestor.flush()


async def _backfill_once_logged_in(hosted: Any) -> None:
    """Queue the dialog backfill the first time this account is connected and logged in."""
    host = current_host()

    def still_ours() -> bool:
        return host is not None and not hosted.lost and host.accounts.get(hosted.account_id) is hosted

    while still_ours():
        if not hosted.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hosted.ready.wait(), 5)
        elif hosted.authorized:
            try:
                await _backfill_queue(hosted.account_id)
            except Exception:
                log.exception("account %s: could not queue the inbox backfill", hosted.account_id)
            return
        else:
            await asyncio.sleep(5)  # connected, signed out: a login step may sign it in


def _backfills_queue(account_ids: list[int]) -> dict[int, bool]:
    """backfill_queue for many accounts: one query finds those whose backfill was queued in an earlier
    life (every account but new ones, when a host restarts)."""
    done = backfills_queued(account_ids=account_ids)
    return {a: False if a in done else backfill_queue(account_id=a) for a in account_ids}


_backfill_queue = Batched(_backfills_queue)
