"""Python's cyclic garbage collector on a host of thousands of accounts.

Each Telethon client is thousands of long-lived objects (its session, entity cache, sender, tasks), so
a host of 5,000 accounts holds millions, and CPython's full collection walks every one of them to find
almost nothing. Measured on such a host: a full collection took about 1 s, came about once a minute
while it idled (about a third of its idle CPU) and ten times while its 5,000 accounts connected (4 s of a
13 s restart), holding the GIL, and with it the renewals and the fence, each time.

So the host freezes its heap on every tick (gc.freeze: what exists now is left out of later
collections, in constant time), and young objects are collected as before. Cycles that become garbage
once frozen (the clients of accounts dropped since) are freed by one full collection every
``collect_every`` seconds: unfreeze, collect, freeze again.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

COLLECT_EVERY = 600.0


class Heap:
    def __init__(self, *, collect_every: float = COLLECT_EVERY) -> None:
        self.collect_every = collect_every
        self._collected_at = time.monotonic()

    def tick(self, now: float) -> None:
        if now - self._collected_at >= self.collect_every:
            self._collected_at = now
            started = time.perf_counter()
            gc.unfreeze()
            freed = gc.collect()
            log.info(
                "full garbage collection: %d objects freed in %.2f s", freed, time.perf_counter() - started
            )
        gc.freeze()
