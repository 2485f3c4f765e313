"""Live updates of the inbox: pushed on each account's channel (crm.live), and a change counter per
account in Redis for the pages whose stream is down and that poll instead.

Whatever changes an account's conversations (ingestion on a session host, a reply, an assignment)
bumps the account: once the transaction commits, its counter grows and an ``inbox`` event goes out on
its channel. An open inbox hears the event on its stream and re-fetches its list and open conversation.
Without a stream it polls the sum of the counters of the accounts its user may see; counters only
grow, so the sum changes exactly when something the user can see changed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from crm import live as push


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


_batch: ContextVar[set[int] | None] = ContextVar("inbox_live_batch", default=None)


def bump(account_ids: Iterable[int]) -> None:
    """Tell open inboxes that these accounts' conversations changed, once the current transaction
    commits (at once outside one; never when it rolls back)."""
    batch = _batch.get()
    if batch is not None:
        batch.update(account_ids)
        return
    ids = sorted(set(account_ids))
    if ids:
        transaction.on_commit(lambda: _send(ids))


@contextmanager
def batched() -> Iterator[None]:
    """Bumps inside become one at the end: a bulk action over a thousand conversations, each changed in
    its own transaction, tells every open inbox once instead of making it re-fetch its list a thousand
    times. (A change that rolled back may still be announced: the page re-fetches and finds nothing new.)"""
    ids: set[int] = set()
    token = _batch.set(ids)
    try:
        yield
    finally:
        _batch.reset(token)
        bump(ids)


def _send(ids: list[int]) -> None:
    pipe = _redis().pipeline(transaction=False)
    for account_id in ids:
        pipe.hincrby(settings.INBOX_LIVE_KEY, str(account_id), 1)
    push.publish(((push.account_channel(a), push.message("inbox", a)) for a in ids), pipe=pipe)
    pipe.execute()


def version(account_ids: Iterable[int] | None) -> int:
    """The change counter over these accounts (None: every account, for admins)."""
    values: list[Any]
    if account_ids is None:
        values = _redis().hvals(settings.INBOX_LIVE_KEY)
    else:
        ids = [str(a) for a in account_ids]
        values = _redis().hmget(settings.INBOX_LIVE_KEY, ids) if ids else []
    return sum(int(v) for v in values if v is not None)
