"""Leases: exactly one session host owns an account at a time (ARCHITECTURE invariant 1).

A lease row carries the holder, a fencing token and an expiry. Hosts claim free or expired leases with
SELECT … FOR UPDATE SKIP LOCKED (two hosts never wait on, or take, the same row), renew well inside
the TTL, and every write of the account's session succeeds only while the writer's token is the
current one, so a paused "zombie" host can never overwrite the new owner's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import HOSTED_STATUSES, Lease


@dataclass(frozen=True)
class Grant:
    account_id: int
    token: int


def claim(*, holder: str, limit: int, ttl: float) -> list[Grant]:
    """Take up to ``limit`` accounts that need a host and have no live owner."""
    if limit <= 0:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.account_id FROM accounts_lease l
            JOIN accounts_account a ON a.id = l.account_id
            WHERE a.status = ANY(%s) AND (l.holder = '' OR l.expires_at < now())
            ORDER BY l.expires_at
            LIMIT %s
            FOR UPDATE OF l SKIP LOCKED
            """,
            [list(HOSTED_STATUSES), limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        cursor.execute(
            """
            UPDATE accounts_lease
            SET holder = %s, token = token + 1, acquired_at = now(),
                expires_at = now() + make_interval(secs => %s)
            WHERE account_id = ANY(%s)
            RETURNING account_id, token
            """,
            [holder, ttl, ids],
        )
        return [Grant(account_id, token) for account_id, token in cursor.fetchall()]


def renew(*, holder: str, grants: list[Grant], ttl: float) -> set[int]:
    """Extend the leases still ours; returns the account ids renewed (the rest are lost)."""
    if not grants:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_lease l SET expires_at = now() + make_interval(secs => %s)
            FROM unnest(%s::bigint[], %s::bigint[]) AS mine(account_id, token)
            WHERE l.account_id = mine.account_id AND l.token = mine.token AND l.holder = %s
              AND l.expires_at > now()
            RETURNING l.account_id
            """,
            [ttl, [g.account_id for g in grants], [g.token for g in grants], holder],
        )
        return {row[0] for row in cursor.fetchall()}


def release(*, holder: str, grant: Grant) -> bool:
    """Give the account back at once (shutdown, ban, re-login): another host may take it now."""
    return bool(
        Lease.objects.filter(account_id=grant.account_id, holder=holder, token=grant.token).update(
            holder="", expires_at=timezone.now()
        )
    )


def is_current(*, holder: str, grant: Grant) -> bool:
    """Does this host still hold the account right now? Checked before anything reaches Telegram."""
    return Lease.objects.filter(
        account_id=grant.account_id, holder=holder, token=grant.token, expires_at__gt=timezone.now()
    ).exists()


def ensure_lease(*, account_id: int) -> None:
    Lease.objects.get_or_create(account_id=account_id, defaults={"expires_at": timezone.now() - timedelta(1)})


def revoke(*, account_id: int) -> None:
    """Take the account from whichever host holds it: the token moves on, so that host's next renewal
    fails and it drops the client without writing (the same path as a lost lease). Used when an admin
    disables an account or changes its proxy; a hosted status lets any host claim it again at once."""
    Lease.objects.filter(account_id=account_id).update(
        holder="", token=models.F("token") + 1, expires_at=timezone.now()
    )
