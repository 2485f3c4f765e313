"""What the rest of the host — an account's lifecycle, the command runner, command bodies — needs from the
session host that holds the account.

A leaf module: ``lifecycle`` and ``commands`` work against this Protocol and never import ``runtime``,
whose SessionHost satisfies it (mypy checks that where runtime hands itself to them), so the host's
modules import each other one way only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from accounts.host.hosted import Hosted

if TYPE_CHECKING:
    from accounts.host.batch import Batched
    from accounts.host.loading import Loaded
    from accounts.telegram.records import Me


class Host(Protocol):
    @property
    def name(self) -> str:
        """The lease holder's name: fenced writes and releases are made under it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The host's own loop, where worker threads hand drops back to."""

    @property
    def loads(self) -> Batched[Loaded]:
        """What each account needs to build its client, read in batches (accounts.host.loading)."""

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

    @property
    def accounts(self) -> dict[int, Hosted]:
        """The accounts held now, by id."""

    def keep_alive(self, hosted: Hosted) -> None:
        """Ping the account's client once a minute from now on (accounts.host.keepalive)."""

    def stop_consuming(self, hosted: Hosted) -> None:
        """Stop consuming the account's command queue (a cooldown, a lost connection)."""

    def submit(self, coro: Awaitable[Any], *, timeout: float) -> Any:
        """Run a coroutine on the host loop from a worker thread and wait for its result."""

    def run_command(self, task: Any, spec: Any, *, account_id: int, values: dict[str, Any]) -> Any:
        """A declared command's Celery task, on a worker thread. ``spec`` is an accounts.registry.Command,
        not named here: the registry imports this module (through accounts.host.current)."""

    def attach_consumer(self, consumer: Any) -> None:
        """The Celery consumer (re)started: consume the queues of every account held."""

    def detach_consumer(self) -> None:
        """The Celery consumer is stopping (warm shutdown, or a restart after a broker reconnect)."""

    def status(self) -> dict[str, float]:
        """Accounts held and ready (and queues started), for the ``sessionhost_status`` remote control
        command."""

    def account_states(self, ids: list[int]) -> dict[int, str]:
        """How the host sees each of these accounts it holds, for the ``sessionhost_accounts`` command."""

    def wake(self) -> None:
        """Claim (and renew) now rather than at the next tick."""

    async def checkpoint(self, hosted: Hosted) -> None:
        """Save the account's session now."""

    async def identify(self, hosted: Hosted, me: Me) -> str:
        """Record who the account is on Telegram; returns why it is refused, or ""."""
