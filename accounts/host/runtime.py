"""SessionHost: one asyncio loop in its own thread, holding up to N accounts' Telethon clients.

It claims free or expired leases, renews them well inside the TTL, connects each client with its
proxy and device, consumes each held account's command queue (acct.<id>) through the Celery consumer,
reconnects with backoff, checkpoints session state under the lease's fence, and on stop saves every
session and releases every lease so another host can take over at once.

A watchdog disconnects every client whose lease this host could not renew in time, on a local monotonic
deadline that needs no answer from the database: a host cut off from PostgreSQL lets go before the
lease expires and another host connects the same auth key (invariant 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from accounts import leases
from accounts.host import commands, lifecycle
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.registry import Command
from accounts.telegram.records import Me

log = logging.getLogger(__name__)

CLAIM_BATCH = 50
# A lease is certainly ours until (start of the renewal that extended it) + TTL * this margin: the
# rest of the TTL covers clock slack, the watchdog's period and the disconnect itself.
LEASE_MARGIN = 0.8
WATCHDOG_INTERVAL = 0.25


class SessionHost:
    def __init__(self, *, name: str, capacity: int | None = None, ttl: float | None = None) -> None:
        self.name = name
        self.capacity = capacity or settings.SESSION_HOST_CAPACITY
        self.ttl = ttl or settings.SESSION_LEASE_TTL
        self.accounts: dict[int, Hosted] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="session-host", daemon=True)
        self._consumer: Any = None
        self._stopping = False
        self._main_task: asyncio.Task[None] | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self._renewer_task: asyncio.Task[None] | None = None
        self._renew_now: asyncio.Event | None = None
        self._connect_slots: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self.commands_running = 0
        self._commands_lock = threading.Lock()  # pool threads count themselves in and out

    # --- what an account's lifecycle reads (accounts.host.interface.Host) -------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def connect_slots(self) -> asyncio.Semaphore:
        assert self._connect_slots is not None, "the host loop has not started"
        return self._connect_slots

    # --- called from other threads ----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 45.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            future.result(timeout)
        except Exception:
            log.exception("session host did not shut down cleanly")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def attach_consumer(self, consumer: Any) -> None:
        """The Celery consumer (re)started: consume the queues of every account we hold."""
        self._consumer = consumer
        for hosted in list(self.accounts.values()):
            if hosted.consuming:
                consumer.call_soon(consumer.add_task_queue, hosted.queue)

    def wake(self) -> None:
        """Claim now rather than at the next tick (a new account is waiting for a host)."""
        if self._wake is not None and self._renew_now is not None:
            # A wake also renews at once: a revoked lease's holder learns of it and lets go.
            self.loop.call_soon_threadsafe(self._wake.set)
            self.loop.call_soon_threadsafe(self._renew_now.set)

    def run_command(
        self, task: Any, spec: Command[Any, Any], *, account_id: int, values: dict[str, Any]
    ) -> Any:
        """A declared command's Celery task, on a pool thread: run it here (accounts.host.commands)."""
        return commands.run(self, task, spec, account_id=account_id, values=values)

    def submit(self, coro: Awaitable[Any], *, timeout: float) -> Any:
        """Run a coroutine on the host loop from a Celery pool thread and wait for its result."""
        with self._commands_lock:
            self.commands_running += 1
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]
        finally:
            with self._commands_lock:
                self.commands_running -= 1

    # --- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._connect_slots = asyncio.Semaphore(settings.SESSION_CONNECT_SLOTS)
        self._wake = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._main_task = self.loop.create_task(self._main())
        self._renewer_task = self.loop.create_task(self._renewer())
        self._watchdog_task = self.loop.create_task(self._watchdog())
        self.loop.run_forever()

    async def _main(self) -> None:
        """Claim and checkpoint every third of the TTL, or at once when woken, until shutdown."""
        assert self._wake is not None
        await self._every_third_of_ttl(self._tick, woken_by=self._wake, until=lambda: self._stopping)

    async def _tick(self) -> None:
        await self._claim()
        await self._checkpoint_due()
        self._match_queues()

    def _match_queues(self) -> None:
        """Have the Celery consumer consume exactly the queues of the accounts we consume. A queue
        change asked of it while its broker connection drops can be lost (the consumer resets, and what
        was pending runs against the dead connection or not at all), and a held account whose queue
        nobody consumes keeps its commands waiting for good (invariant 2): so every tick checks."""
        if self._consumer is not None:
            wanted = frozenset(h.queue for h in self.accounts.values() if h.consuming)
            self._consumer.call_soon(_match_queues, self._consumer, wanted)

    async def _renewer(self) -> None:
        """Renew on a loop of its own, so that claims, checkpoints and drops never delay a renewal past
        the lease deadline (the watchdog would then drop every account of a healthy host). It runs until
        shutdown has let go of every account."""
        assert self._renew_now is not None
        await self._every_third_of_ttl(self._renew, woken_by=self._renew_now, until=lambda: False)

    async def _every_third_of_ttl(
        self, step: Callable[[], Awaitable[None]], *, woken_by: asyncio.Event, until: Callable[[], bool]
    ) -> None:
        interval = self.ttl / 3
        while not until():
            started = time.monotonic()
            woken_by.clear()  # a wake arriving during this step triggers the next one at once
            try:
                await step()
            except Exception:
                # A renewal that fails is retried; the watchdog drops what expires meanwhile.
                log.exception("session host: %s failed; retrying", step.__name__)
            pause = max(0.5, interval * random.uniform(0.8, 1.0) - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken_by.wait(), pause)

    async def _renew(self) -> None:
        held = [h for h in self.accounts.values() if not h.lost]
        if not held:
            return
        asked = time.monotonic()
        renewed = await db(leases.renew)(holder=self.name, grants=[h.grant for h in held], ttl=self.ttl)
        for hosted in held:
            if hosted.account_id in renewed:
                # Count the TTL from when we asked, minus a margin for clock and scheduling slack.
                hosted.lease_deadline = asked + self.ttl * LEASE_MARGIN
            else:
                # Lost, or revoked: disconnect first, then release, so a revoked lease is claimable only
                # once nobody uses its key (a lost one has moved on, and releasing it does nothing).
                log.warning(
                    "lease of account %s lost or revoked; dropping it without saving", hosted.account_id
                )
                hosted.lost = True  # never renewed or written again, even before the drop starts
                self.loop.create_task(self.drop(hosted, save=False, release=True))

    async def _claim(self) -> None:
        room = self.capacity - len(self.accounts)
        # Claim in modest batches so several hosts starting together share the accounts; a full batch
        # means more are waiting, so the next tick follows at once.
        batch = min(room, CLAIM_BATCH)
        asked = time.monotonic()
        grants = await db(leases.claim)(holder=self.name, limit=batch, ttl=self.ttl)
        if batch and len(grants) == batch and self._wake is not None:
            self._wake.set()
        for grant in grants:
            previous = self.accounts.get(grant.account_id)
            hosted = Hosted(grant=grant, lease_deadline=asked + self.ttl * LEASE_MARGIN)
            self.accounts[grant.account_id] = hosted
            hosted.supervisor = self.loop.create_task(self._host(hosted, previous=previous))

    async def _host(self, hosted: Hosted, *, previous: Hosted | None) -> None:
        """Connect a newly claimed account, once this host's previous client of it is gone (we claimed it
        again while that one was being dropped): two clients of one key would be AUTH_KEY_DUPLICATED."""
        if previous is not None:
            await self.drop(previous, save=False, release=False)  # its lease has moved on: to us
        await lifecycle.supervise(self, hosted)

    async def _watchdog(self) -> None:
        """Disconnect every client past its lease deadline, whatever the database (or a hung renewal)
        is doing: by the time the lease expires and another host may connect, this one has let go."""
        # It runs through shutdown too, and also cuts a drop already under way (a final checkpoint
        # waiting on handlers or on the database) once the deadline passes.
        while True:
            now = time.monotonic()
            for hosted in list(self.accounts.values()):
                if not hosted.severed and now >= hosted.lease_deadline:
                    log.warning("account %s: lease not renewed in time; disconnecting", hosted.account_id)
                    hosted.severed = hosted.lost = True
                    # Not awaited: a drop may wait on the database after the socket is closed.
                    self.loop.create_task(self._sever(hosted))
            await asyncio.sleep(WATCHDOG_INTERVAL)

    async def _sever(self, hosted: Hosted) -> None:
        client = hosted.client
        if client is not None:
            try:
                await client.disconnect()
            except Exception:
                log.debug("account %s: disconnect raised", hosted.account_id, exc_info=True)
        await self.drop(hosted, save=False, release=False)

    async def _checkpoint_due(self) -> None:
        now = time.monotonic()
        for hosted in list(self.accounts.values()):
            if hosted.ready.is_set() and now - hosted.checkpointed_at >= settings.SESSION_CHECKPOINT_INTERVAL:
                await lifecycle.checkpoint(self, hosted)

    # --- for command bodies ------------------------------------------------------------------------

    async def checkpoint(self, hosted: Hosted) -> None:
        """Save the account's session now (a login step's fresh auth key must survive a restart)."""
        await lifecycle.checkpoint(self, hosted)

    async def identify(self, hosted: Hosted, me: Me) -> str:
        """Record who the account is on Telegram; returns why it is refused, or ""."""
        return await lifecycle.identify(self, hosted, me)

    # --- queues -----------------------------------------------------------------------------------

    def consume(self, hosted: Hosted) -> None:
        if hosted.lost or hosted.drop_task is not None:
            return  # being let go: its commands belong to the next holder
        if not hosted.consuming and self._consumer is not None:
            self._consumer.call_soon(self._consumer.add_task_queue, hosted.queue)
        hosted.consuming = True

    def stop_consuming(self, hosted: Hosted) -> None:
        if hosted.consuming and self._consumer is not None:
            self._consumer.call_soon(self._consumer.cancel_task_queue, hosted.queue)
        hosted.consuming = False

    # --- dropping and shutting down ---------------------------------------------------------------

    async def drop(self, hosted: Hosted, *, save: bool, release: bool) -> None:
        """Stop hosting an account: stop its queue, disconnect, optionally save and release.

        Works on this very ``hosted``, never on whatever is tracked under its id by then (a newer claim
        of the same account). Runs once, in a task of its own that a caller's cancellation cannot cut
        short half-way; a second call waits for the first.
        """
        if hosted.drop_task is None:
            hosted.drop_task = self.loop.create_task(self._drop(hosted, save=save, release=release))
            await asyncio.shield(hosted.drop_task)
            return
        await asyncio.shield(hosted.drop_task)
        if release:
            # The first drop kept the lease (e.g. the watchdog's); this caller frees it now that the client
            # is gone. Fenced by the token: a lease that has moved on is left alone.
            await db(leases.release)(holder=self.name, grant=hosted.grant)

    async def _drop(self, hosted: Hosted, *, save: bool, release: bool) -> None:
        # A newer claim of this account waits for this drop before it connects, so it is not consuming.
        self.stop_consuming(hosted)
        if not save:
            hosted.lost = True
        try:
            await lifecycle.disconnect(self, hosted, save=save)
            hosted.lost = True
            supervisor = hosted.supervisor
            if supervisor is not None and not supervisor.done():
                supervisor.cancel()
                await asyncio.wait([supervisor], timeout=5)
                # The supervisor may have been mid-connect: close whatever it opened as well.
                await lifecycle.disconnect(self, hosted, save=False)
        finally:
            if self.accounts.get(hosted.account_id) is hosted:
                del self.accounts[hosted.account_id]
        if release:
            await db(leases.release)(holder=self.name, grant=hosted.grant)

    async def _shutdown(self) -> None:
        self._stopping = True
        if self._main_task:
            self._main_task.cancel()
        for hosted in list(self.accounts.values()):
            self.stop_consuming(hosted)
        # Let commands already running finish (the Celery consumer stopped handing out new ones).
        deadline = time.monotonic() + 20
        while self.commands_running and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.gather(
            *(self.drop(h, save=True, release=True) for h in list(self.accounts.values())),
            return_exceptions=True,
        )
        # Renewals went on until now, so the final checkpoints had their lease's time.
        for task in (self._renewer_task, self._watchdog_task):
            if task:
                task.cancel()


def _match_queues(consumer: Any, wanted: frozenset[str]) -> None:
    """On the consumer's own thread: consume every wanted account queue, and no other account queue."""
    tasks = consumer.task_consumer
    if tasks is None:
        return  # reconnecting: attach_consumer adds the queues once it has started again
    prefix = f"{settings.COMMAND_QUEUE_PREFIX}."
    for queue in wanted:
        if not tasks.consuming_from(queue):
            consumer.add_task_queue(queue)
    for queue in {q.name for q in tasks.queues} - wanted:
        if queue.startswith(prefix) and tasks.consuming_from(queue):
            consumer.cancel_task_queue(queue)
