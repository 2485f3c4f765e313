"""One keepalive for every client a host holds, instead of Telethon's loop per client.

Telegram expects a ping on each connection about once a minute, and Telethon sends it from a task of
its own per client: 5,000 clients are 5,000 timers, each waking the host loop alone (a shielded wait,
a ping, a copy of the update state into the session and a session save, every minute). Profiled on an
idle host of 5,000 accounts, that wake-up machinery cost more than the pings themselves. Here one task
pings each client a minute after its last ping (a minute after it was ready, first), in one-second
slots: about 1/60 of the clients per wake, so their sends and the pongs share turns of the loop.

The per-minute session save is not needed: the host's checkpoints persist the update state and new
peers (accounts.host.lifecycle), and a save with nothing new wrote nothing anyway.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from accounts.host.hosted import Hosted
from accounts.telegram import internals

if TYPE_CHECKING:
    from accounts.telegram.client import TelegramClient

Entry = tuple[Hosted, "TelegramClient"]

# Telethon's own period: one ping per connection per minute, as Telegram expects of an idle client.
PERIOD = 60.0
SLOTS = 60


class Keepalive:
    def __init__(self, *, period: float = PERIOD, slots: int = SLOTS) -> None:
        self.period = period
        self.slots = slots
        self._width = period / slots
        self._wheel: defaultdict[int, list[Entry]] = defaultdict(list)
        self._next: int | None = None  # the first slot not yet run

    def add(self, hosted: Hosted, *, now: float) -> None:
        """Ping this account's client from now on (first one ``period`` from now), not Telethon's task."""
        client = hosted.client
        if client is None:
            return
        internals.stop_keepalive(client)
        self._wheel[self._slot(now) + self.slots].append((hosted, client))

    def due(self, now: float) -> list[Entry]:
        """Every entry whose slot has come (a loop late by a few seconds catches up at once)."""
        current = self._slot(now)
        if self._next is None:
            self._next = min([current, *self._wheel]) if self._wheel else current
        found: list[Entry] = []
        while self._next <= current:
            found += self._wheel.pop(self._next, [])
            self._next += 1
        return found

    def ping_due(self, now: float) -> int:
        """Ping each client whose minute is up and schedule its next ping; returns how many were pinged.
        A client that was replaced (reconnect) or disconnected is forgotten: its successor is added when
        it is ready."""
        pinged = 0
        later = self._slot(now) + self.slots
        for hosted, client in self.due(now):
            if hosted.lost or not client.is_connected() or hosted.client is not client:
                continue
            internals.keepalive_ping(client)
            self._wheel[later].append((hosted, client))
            pinged += 1
        return pinged

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            self.ping_due(now)
            await asyncio.sleep(self._width - math.fmod(now, self._width))

    def _slot(self, moment: float) -> int:
        return int(moment // self._width)
