"""Live updates: a change counter per account in Redis, polled cheaply by open inboxes.

Whatever changes an account's conversations (ingestion on a session host, a reply, an assignment)
bumps the account's counter. An open inbox polls the sum of the counters of the accounts its user may
see; when the sum moved, the page re-fetches its list and open conversation. Counters only grow, so
the sum changes exactly when something the user can see changed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import redis
from django.conf import settings


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def bump(account_ids: Iterable[int]) -> None:
    """Tell open inboxes that these accounts' conversations changed."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    pipe = _redis().pipeline(transaction=False)
    for account_id in ids:
        pipe.hincrby(settings.INBOX_LIVE_KEY, str(account_id), 1)
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
