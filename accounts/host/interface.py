"""What one account's lifecycle needs from the session host that holds it.

A leaf module: ``lifecycle`` works against this Protocol and never imports ``runtime``, whose
SessionHost satisfies it (mypy checks that where runtime hands itself to lifecycle), so the host's
modules import each other one way only.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from accounts.host.hosted import Hosted


class Host(Protocol):
    @property
    def name(self) -> str:
        """The lease holder's name: fenced writes and releases are made under it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The host's own loop, where worker threads hand drops back to."""

    @property
    def stopping(self) -> bool:
        """The host is shutting down: supervisors stop reconnecting."""

    @property
    def connect_slots(self) -> asyncio.Semaphore:
        """Bounds how many accounts connect at once."""

    def consume(self, hosted: Hosted) -> None:
        """Start consuming the account's command queue (unless it is being let go)."""

    async def drop(self, hosted: Hosted, *, save: bool, release: bool) -> None:
        """Stop hosting the account: disconnect, optionally save its session and release its lease."""
