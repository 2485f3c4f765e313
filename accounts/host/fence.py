"""The fence: a thread of the host's own that cuts every client past its lease deadline, whatever the
host's asyncio loop is doing.

A client must be gone before another host may claim its lease (invariant 1). The loop cannot promise
that: a process starved of CPU, or a callback that blocks, can hold it for seconds, and with a 5 s TTL
the deadline (0.8 x TTL after the last renewal) leaves one second before another host may claim. So
this thread, which needs neither the loop nor the database, shuts the client's TCP connection down at
the OS level at the deadline and only then asks the loop for the normal drop (without saving).

It sleeps until the soonest deadline of the accounts held (renewals only ever move deadlines later, so
a wake that finds them moved just sleeps again) and is woken when accounts are claimed: one wake per
pending deadline, never a periodic scan of thousands of accounts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from accounts.host.hosted import Hosted
from accounts.telegram import internals

log = logging.getLogger(__name__)


class Fence:
    def __init__(self, *, held: Callable[[], list[Hosted]], cut: Callable[[Hosted], None]) -> None:
        """``held()`` returns the accounts held now (called on the fence's thread: it must be safe
        there); ``cut(hosted)`` is called on the fence's thread once the client's connection is shut, to
        hand the drop to the loop."""
        self._held = held
        self._cut = cut
        self._wake = threading.Event()
        self._lock = threading.Lock()  # the beat thread cuts too, when the host's liveness lapsed
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="session-host-fence", daemon=True)
        self.wakes = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def changed(self) -> None:
        """Accounts were claimed: their deadlines may be sooner than the one the fence sleeps until."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.clear()  # a change during the scan triggers another one at once
            self.wakes += 1
            try:
                soonest = self.cut_due(time.monotonic())
            except Exception:
                log.exception("session host fence: scan failed; trying again")
                soonest = time.monotonic() + 0.5
            self._wake.wait(None if soonest is None else max(0.0, soonest - time.monotonic()))

    def cut_due(self, now: float) -> float | None:
        """Cut every client past its deadline; returns the soonest deadline still ahead, if any."""
        soonest = None
        with self._lock:
            for hosted in self._held():
                if hosted.fenced:
                    continue
                if hosted.lease_deadline > now:
                    soonest = min(soonest or hosted.lease_deadline, hosted.lease_deadline)
                    continue
                log.warning("account %s: lease not renewed in time; disconnecting", hosted.account_id)
                self._cut_one(hosted)
        return soonest

    def cut_all(self) -> None:
        """Cut every client now, on the caller's thread (the host's liveness expired)."""
        with self._lock:
            for hosted in self._held():
                if not hosted.fenced:
                    self._cut_one(hosted)

    def _cut_one(self, hosted: Hosted) -> None:
        hosted.fenced = True
        # Before the socket goes: a supervisor seeing the connection end must not reconnect.
        hosted.lost = True
        if hosted.client is not None:
            internals.sever(hosted.client)
        self._cut(hosted)
