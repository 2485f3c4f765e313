"""SessionHost: one asyncio loop in its own thread, holding up to N accounts' Telethon clients.

It joins the hosts alive (accounts.leases: one liveness row, renewed every fifth of the TTL), claims
the leases of accounts without a live host, connects each client with its proxy and device, consumes
each held account's command queue (acct.<id>) through the Celery consumer, reconnects with backoff,
checkpoints session state under the lease's fence, and on stop saves every session and releases every
lease so another host can take over at once.

A fence (accounts.host.fence), on a thread of its own, cuts every client whose lease this host could not
renew in time, on a local monotonic deadline that needs neither an answer from the database nor the
host's loop: a host cut off from PostgreSQL, or whose loop is stuck, lets go before its liveness expires
and another host connects the same auth key (invariant 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from accounts import leases
from accounts.host import commands, lifecycle, loading
from accounts.host.batch import Batched
from accounts.host.checkpoints import Schedule
from accounts.host.fence import Fence
from accounts.host.heap import Heap
from accounts.host.hosted import Hosted
from accounts.host.keepalive import Keepalive
from accounts.host.orm import db
from accounts.host.queues import Consuming
from accounts.host.share import Share
from accounts.registry import Command
from accounts.services import hosts_wake
from accounts.telegram.records import Me

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
# A lease is certainly ours until (start of the renewal that extended it) + TTL * this margin: the
# rest of the TTL covers clock slack and the fence's cut itself.
LEASE_MARGIN = 0.8
# Liveness is renewed every TTL / BEATS_PER_TTL: four tries before the fence's deadline.
BEATS_PER_TTL = 5
# Checkpoints that may wait on the database at once: about the host's database threads.
CHECKPOINTS_AT_ONCE = 8
CHECKPOINT_CHUNK = 200
# How often the held leases are read back (revoked, account disabled or deleted, left behind) when
# nothing wakes the host sooner; revokes and disables wake every host at once.
HOLDINGS_INTERVAL = 10.0
# A claim after another host's liveness expires waits this long past the expiry the database announced.
LAPSE_SLACK = 0.05


class SessionHost:
    def __init__(self, *, name: str, capacity: int | None = None, ttl: float | None = None) -> None:
        self.name = name
        self.capacity = capacity or settings.SESSION_HOST_CAPACITY
        self.ttl = ttl or settings.SESSION_LEASE_TTL
        self.accounts: dict[int, Hosted] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="session-host", daemon=True)
        self.loads = Batched(loading.load_many)
        self._share = Share(capacity=self.capacity, ttl=self.ttl)
        self._queues = Consuming()
        self._consumed: set[str] = set()  # the queues of the accounts we consume
        self._keepalive = Keepalive()
        self._checkpoints = Schedule()
        self._heap = Heap()
        self._stopping = False
        self._main_task: asyncio.Task[None] | None = None
        self._renew_now = threading.Event()
        self._beats_stopped = False
        self._keepalive_task: asyncio.Task[None] | None = None
        self._connect_slots: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self._joined = False  # our liveness row is (or was last seen) alive; the beat thread's own
        self._lapse_timer: asyncio.TimerHandle | None = None
        self._check_now = False
        self._checked_at = 0.0
        # Renewals (and the final leave) on a thread of their own: see _beats.
        self._beat_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-host-beat")
        self.commands_running = 0
        self._commands_lock = threading.Lock()  # pool threads count themselves in and out
        # list() copies the dict in one step under the GIL: safe on the fence's thread while the loop
        # claims and drops.
        self._fence = Fence(
            held=lambda: list(self.accounts.values()),
            cut=lambda hosted: self._on_loop(self._cut, hosted),
        )

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
        self._queues.attach(consumer, list(self._consumed))

    def detach_consumer(self) -> None:
        """The Celery consumer is stopping: match no queues to it until it starts again."""
        self._queues.detach()

    def status(self) -> dict[str, float]:
        """Accounts held, and how many of them are connected and ready; command queues started so far,
        and the seconds the Celery consumer's thread spent starting them."""
        held = list(self.accounts.values())
        return {
            "held": len(held),
            "ready": sum(1 for h in held if h.ready.is_set()),
            "queues": self._queues.started,
            "queue_seconds": round(self._queues.seconds, 3),
        }

    def account_states(self, ids: list[int]) -> dict[int, str]:
        """How this host sees each of ``ids`` it holds (connected, consuming its queue, cooling down,
        being dropped, lost), for the ``sessionhost_accounts`` remote control command."""
        states = {}
        for account_id in ids:
            hosted = self.accounts.get(account_id)
            if hosted is not None:
                flags = {
                    "connected": hosted.ready.is_set(),
                    "consuming": hosted.consuming,
                    "cooling down": hosted.paused_until > time.monotonic(),
                    "being dropped": hosted.drop_task is not None,
                    "lost": hosted.lost,
                }
                states[account_id] = ", ".join(name for name, on in flags.items() if on) or "connecting"
        return states

    def wake(self) -> None:
        """Claim now rather than at the next tick (a new account is waiting for a host), and read the held
        leases back: a revoked lease's holder learns of it and lets go."""
        if self._wake is not None:
            self._check_now = True
            self.loop.call_soon_threadsafe(self._wake.set)

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
        self._main_task = self.loop.create_task(self._main())
        self._beat_thread.submit(self._beats)
        self._fence.start()
        self._keepalive_task = self.loop.create_task(self._keepalive.run())
        self.loop.run_forever()

    async def _main(self) -> None:
        """Claim and checkpoint every third of the TTL, or at once when woken, until shutdown."""
        assert self._wake is not None
        await self._every(self.ttl / 3, self._tick, woken_by=self._wake, until=lambda: self._stopping)

    async def _tick(self) -> None:
        await self._claim()
        now = time.monotonic()
        if self._check_now or now - self._checked_at >= HOLDINGS_INTERVAL:
            self._check_now = False  # a wake during the check asks for another one
            self._checked_at = now
            await self._check_holdings()
        await self._checkpoint_due()
        self._match_queues()
        self._heap.tick(time.monotonic())

    def _match_queues(self) -> None:
        """Have the Celery consumer consume exactly the queues of the accounts we consume. A queue
        change asked of it while its broker connection drops can be lost (the consumer resets, and what
        was pending runs against the dead connection or not at all), and a held account whose queue
        nobody consumes keeps its commands waiting for good (invariant 2): so every tick checks."""
        self._queues.match(self._consumed)

    async def _every(
        self,
        interval: float,
        step: Callable[[], Awaitable[None]],
        *,
        woken_by: asyncio.Event,
        until: Callable[[], bool],
    ) -> None:
        while not until():
            started = time.monotonic()
            woken_by.clear()  # a wake arriving during this step triggers the next one at once
            try:
                await step()
            except Exception:
                log.exception("session host: %s failed; retrying", step.__name__)
            pause = max(0.2, interval * random.uniform(0.8, 1.0) - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken_by.wait(), pause)

    def _beats(self) -> None:
        """Renew our liveness every fifth of the TTL, on a thread of its own until shutdown has let go of
        every account. Neither the loop (thousands of clients connecting on a loaded machine hold it for
        seconds) nor the shared database threads (connects, checkpoints, drops) can delay a renewal past
        the lease deadline, where the fence would drop every account of a healthy host. What the loop
        does with an answer is handed to it."""
        while not self._beats_stopped:
            started = time.monotonic()
            self._renew_now.clear()  # a wake arriving during this renewal triggers the next one at once
            try:
                self._renew()
            except Exception:
                # A renewal that fails is retried; the fence drops what expires meanwhile.
                log.exception("session host %s: renewal failed; retrying", self.name)
            interval = self.ttl / BEATS_PER_TTL * random.uniform(0.8, 1.0)
            self._renew_now.wait(max(0.2, interval - (time.monotonic() - started)))

    def _renew(self) -> None:
        asked = time.monotonic()
        if not self._joined:
            self._on_beat_thread(leases.join, holder=self.name, ttl=self.ttl)
            self._joined = True
            self._on_loop(self._claim_now)
            return
        beat = self._on_beat_thread(leases.beat, holder=self.name, ttl=self.ttl)
        if not beat.alive:
            self._lapsed()
            return
        # Count the TTL from when we asked, minus a margin for clock and scheduling slack. Only leases
        # still certain when we asked: one past its deadline is the fence's, whatever the answer. (The
        # loop only reads deadlines once it has made an account's; list() copies in one step.)
        deadline = asked + self.ttl * LEASE_MARGIN
        for hosted in list(self.accounts.values()):
            if not hosted.lost and hosted.lease_deadline > asked:
                hosted.lease_deadline = max(hosted.lease_deadline, deadline)
        self._on_loop(self._claim_at_next_lapse, beat.next_lapse)

    def _lapsed(self) -> None:
        """Our liveness expired (paused, or cut off from the database, past the TTL): other hosts may own
        every account we held. Cut all of them here and now (the loop drops them without saving), and
        join again afresh: the join frees what this life held, and nothing of it is connected any more."""
        log.warning("session host %s: liveness expired; letting go of every account", self.name)
        self._fence.cut_all()
        self._joined = False
        self._renew_now.set()

    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the host has stopped
            self.loop.call_soon_threadsafe(fn, *args)

    def _claim_now(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _claim_at_next_lapse(self, seconds: float | None) -> None:
        """Wake the claims the moment another host's liveness expires (by the database's clock), rather
        than at the next tick: its accounts are offline until someone claims them. Every renewal moves
        the moment, so it comes only for a host that stopped renewing."""
        if self._lapse_timer is not None:
            self._lapse_timer.cancel()
            self._lapse_timer = None
        if seconds is not None and self._wake is not None:
            self._lapse_timer = self.loop.call_later(seconds + LAPSE_SLACK, self._wake.set)

    @staticmethod
    def _on_beat_thread(fn: Callable[..., Any], **kwargs: Any) -> Any:
        # One long-lived connection, without a health check before every renewal (a second query):
        # after an error the next renewal starts on a fresh one.
        try:
            return fn(**kwargs)
        except DatabaseError:
            connection.close()
            raise

    async def _check_holdings(self) -> None:
        """Let go of what is held but no longer wanted (revoked, account disabled, banned, re-login needed,
        deleted), and release what is held under our name but not hosted any more: a client the fence
        cut keeps its lease, which lives as long as this host does."""
        found = await db(leases.holdings)(holder=self.name)
        for hosted in list(self.accounts.values()):
            if not hosted.lost and hosted.grant.pair not in found.wanted:
                # Disconnect first, then release: a revoked lease is claimable once nobody uses its key.
                log.warning(
                    "lease of account %s revoked or no longer wanted; dropping it without saving",
                    hosted.account_id,
                )
                hosted.lost = True  # never written again, even before the drop starts
                self.loop.create_task(self.drop(hosted, save=False, release=True))
        # Gone from self.accounts only once its drop has disconnected it: safe to free.
        hosting = {hosted.grant.pair for hosted in self.accounts.values()}
        left = [leases.Grant(*pair) for pair in found.held if pair not in hosting]
        if left and await db(leases.release_left)(holder=self.name, grants=left) and self._wake is not None:
            self._wake.set()  # claim them again (if they still want a host) at once

    async def _claim(self) -> None:
        """Claim up to this host's fair share, or hand back what is above it (accounts.host.share)."""
        fleet = await db(leases.fleet)(holder=self.name)
        room, excess = self._share.plan(fleet, held=len(self.accounts), now=time.monotonic())
        if excess:
            await self._hand_back(excess)
            return
        # A full batch means more are waiting, so the next tick follows at once.
        batch = min(room, CLAIM_BATCH)
        if not batch:
            return
        asked = time.monotonic()
        grants = await db(leases.claim)(holder=self.name, limit=batch, ttl=self.ttl)
        if batch and len(grants) == batch and self._wake is not None:
            self._wake.set()
        for grant in grants:
            previous = self.accounts.get(grant.account_id)
            hosted = Hosted(grant=grant, lease_deadline=asked + self.ttl * LEASE_MARGIN)
            self.accounts[grant.account_id] = hosted
            self._checkpoints.add(hosted, at=asked)
            hosted.supervisor = self.loop.create_task(self._host(hosted, previous=previous))
        if grants:
            self._fence.changed()

    async def _hand_back(self, count: int) -> None:
        """Let go of ``count`` accounts gracefully (the newest first), and wake the hosts to claim them."""
        chosen = [h for h in reversed(self.accounts.values()) if h.drop_task is None and not h.lost][:count]
        log.info("above the fair share: handing back %d accounts", len(chosen))
        await asyncio.gather(*(self.drop(h, save=True, release=True) for h in chosen), return_exceptions=True)
        await db(hosts_wake)()

    async def _host(self, hosted: Hosted, *, previous: Hosted | None) -> None:
        """Connect a newly claimed account, once this host's previous client of it is gone (we claimed it
        again while that one was being dropped): two clients of one key would be AUTH_KEY_DUPLICATED."""
        if previous is not None:
            await self.drop(previous, save=False, release=False)  # its lease has moved on: to us
        await lifecycle.supervise(self, hosted)

    def _cut(self, hosted: Hosted) -> None:
        """Let go of a client without saving (its lease deadline passed, or our liveness lapsed). It also
        cuts a drop already under way (a final checkpoint waiting on handlers or on the database)."""
        if hosted.severed:
            return
        hosted.severed = hosted.lost = True
        # Not awaited: a drop may wait on the database after the socket is closed.
        self.loop.create_task(self._sever(hosted))

    async def _sever(self, hosted: Hosted) -> None:
        client = hosted.client
        if client is not None:
            try:
                await client.disconnect()
            except Exception:
                log.debug("account %s: disconnect raised", hosted.account_id, exc_info=True)
        await self.drop(hosted, save=False, release=False)
        # Its lease lives on with this host: the next check releases it, once the database answers.
        self._check_now = True
        if self._wake is not None:
            self._wake.set()

    async def _checkpoint_due(self) -> None:
        """Checkpoint every account due, a few at a time: an account with nothing new costs no database
        work, one with news one write, and thousands of them one after another would hold up claims."""
        due = self._checkpoints.due(
            time.monotonic(), held=self.accounts, interval=settings.SESSION_CHECKPOINT_INTERVAL
        )
        slots = asyncio.Semaphore(CHECKPOINTS_AT_ONCE)

        async def one(hosted: Hosted) -> None:
            async with slots:
                try:
                    await lifecycle.checkpoint(self, hosted)
                except Exception:
                    log.exception("account %s: checkpoint failed", hosted.account_id)

        # A checkpoint with nothing new never waits: a few hundred in one turn of the loop at most, so
        # the liveness beats keep their times.
        for start in range(0, len(due), CHECKPOINT_CHUNK):
            await asyncio.gather(*(one(h) for h in due[start : start + CHECKPOINT_CHUNK]))

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
        if not hosted.consuming:
            self._queues.start(hosted.queue)
            self._consumed.add(hosted.queue)
        hosted.consuming = True

    def keep_alive(self, hosted: Hosted) -> None:
        self._keepalive.add(hosted, now=time.monotonic())

    def stop_consuming(self, hosted: Hosted) -> None:
        if hosted.consuming:
            self._queues.stop(hosted.queue)
            self._consumed.discard(hosted.queue)
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
            # The first drop kept the lease (e.g. the fence's); this caller frees it now that the client
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
        self._beats_stopped = True
        self._renew_now.set()
        self._fence.stop()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
        if self._lapse_timer is not None:
            self._lapse_timer.cancel()
        try:
            # Every client is disconnected: what a failed release left is claimable at once. On the beat
            # thread, after its last renewal.
            await self.loop.run_in_executor(
                self._beat_thread, lambda: self._on_beat_thread(leases.leave, holder=self.name)
            )
        except Exception:
            log.exception(
                "session host %s: could not leave; its leases move once its liveness expires", self.name
            )
        self._beat_thread.shutdown(wait=False)
