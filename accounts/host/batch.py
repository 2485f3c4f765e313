"""One database call for many accounts: what each account's supervisor asks on its own, answered in
batches.

A host starting with thousands of accounts (or reconnecting them all after a network cut) would
otherwise make the same few queries once per account, each a round trip through the host's small pool
of database threads; batched, a claim of a few hundred accounts costs a few queries in all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from django.db import close_old_connections

T = TypeVar("T")

# How long the first request waits for others to join its batch: shorter than a connect's round trip.
GATHER_SECONDS = 0.02


class Batched(Generic[T]):
    """``await batched(account_id)`` → this account's part of ``fetch(ids)``, run in one ORM call.

    ``fetch`` returns a dict by account id; an id it leaves out raises KeyError for its caller, and an
    exception value in the dict is raised for that caller alone. A failing ``fetch`` fails every caller
    of that batch (each retries as it would after its own query failed).
    """

    def __init__(
        self, fetch: Callable[[list[int]], Mapping[int, T | BaseException]], *, size: int = 500
    ) -> None:
        self._fetch = fetch
        self._size = size
        # A thread (and database connection) of its own: connects wait on these batches, and must not
        # queue behind the catch-up work (ingestion, checkpoints) of the accounts connected before them
        # in the host's shared pool of database threads, as they did in a takeover of 500 accounts.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-host-batch")
        self._waiting: dict[int, list[asyncio.Future[T]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, account_id: int) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account_id, []).append(future)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        while self._waiting:
            ids = list(self._waiting)[: self._size]
            batch = {account_id: self._waiting.pop(account_id) for account_id in ids}
            try:
                found = await asyncio.get_running_loop().run_in_executor(self._thread, self._call, ids)
            except Exception as error:
                found = dict.fromkeys(ids, error)
            for account_id, futures in batch.items():
                result = found.get(account_id, KeyError(account_id))
                for future in futures:
                    if future.done():
                        continue  # its caller was cancelled meanwhile
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        self._flusher = None

    def _call(self, ids: list[int]) -> Mapping[int, T | BaseException]:
        close_old_connections()
        return self._fetch(ids)
