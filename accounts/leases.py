"""Leases: exactly one session host owns an account at a time (ARCHITECTURE invariant 1).

A lease row carries the holder, a fencing token and an expiry. Hosts claim free or expired leases with
SELECT … FOR UPDATE SKIP LOCKED (two hosts never wait on, or take, the same row), renew well inside
the TTL, and every write of the account's session succeeds only while the writer's token is the
current one, so a paused "zombie" host can never overwrite the new owner's state.

A revoke (proxy change, disable, log-out) never frees a lease its holder may still be connected on: it
marks the lease ``revoking``, which stops renewals and session writes but keeps holder and expiry, so
claims skip it until the holder has disconnected and released it, or until it expires (by then a holder
that could not renew has dropped the client on its own deadline: see accounts.host.runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, models, transaction
from django.db.models import Case, F, Value, When
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
            SET holder = %s, token = token + 1, revoking = false, acquired_at = now(),
                expires_at = now() + make_interval(secs => %s)
            WHERE account_id = ANY(%s)
            RETURNING account_id, token
            """,
            [holder, ttl, ids],
        )
        return [Grant(account_id, token) for account_id, token in cursor.fetchall()]


@dataclass(frozen=True)
class Fleet:
    wanting: int  # accounts that want a host
    free: int  # of those, how many no host holds now (claimable)
    other_hosts: int  # hosts other than the asking one that hold a live lease


def fleet(*, holder: str) -> Fleet:
    """The fleet as one host sees it, for its fair share (accounts.host.share)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM accounts_account WHERE status = ANY(%(hosted)s)),
                   (SELECT count(*) FROM accounts_lease l JOIN accounts_account a ON a.id = l.account_id
                    WHERE a.status = ANY(%(hosted)s) AND (l.holder = '' OR l.expires_at < now())),
                   (SELECT count(DISTINCT holder) FROM accounts_lease
                    WHERE holder <> '' AND holder <> %(holder)s AND expires_at > now())
            """,
            {"hosted": list(HOSTED_STATUSES), "holder": holder},
        )
        wanting, free, others = cursor.fetchone()
    return Fleet(wanting=int(wanting), free=int(free), other_hosts=int(others))


def renew(*, holder: str, grants: list[Grant], ttl: float) -> set[int]:
    """Extend the leases still ours; returns the account ids renewed. The rest are lost or revoked, or their
    account no longer wants a host (disabled, banned, re-login needed, deleted): the holder disconnects
    them, then releases them (a no-op for a lease that has moved on)."""
    if not grants:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_lease l SET expires_at = now() + make_interval(secs => %s)
            FROM unnest(%s::bigint[], %s::bigint[]) AS mine(account_id, token)
            WHERE l.account_id = mine.account_id AND l.token = mine.token AND l.holder = %s
              AND l.expires_at > now() AND NOT l.revoking
              AND EXISTS (SELECT 1 FROM accounts_account a WHERE a.id = l.account_id AND a.status = ANY(%s))
            RETURNING l.account_id
            """,
            [ttl, [g.account_id for g in grants], [g.token for g in grants], holder, list(HOSTED_STATUSES)],
        )
        return {row[0] for row in cursor.fetchall()}


def release(*, holder: str, grant: Grant) -> bool:
    """Give the account back at once (shutdown, ban, re-login, revoke): another host may take it now.

    Only after the client is disconnected: the next holder connects as soon as this commits.
    """
    return bool(
        Lease.objects.filter(account_id=grant.account_id, holder=holder, token=grant.token).update(
            holder="", revoking=False, expires_at=timezone.now()
        )
    )


def is_current(*, holder: str, grant: Grant) -> bool:
    """Does this host still hold the account right now? Checked before anything reaches Telegram."""
    return Lease.objects.filter(
        account_id=grant.account_id,
        holder=holder,
        token=grant.token,
        revoking=False,
        expires_at__gt=timezone.now(),
    ).exists()


def is_held(*, account_id: int) -> bool:
    """Might a host still be connected with this account's key? (held and not yet expired)"""
    return (
        Lease.objects.filter(account_id=account_id, expires_at__gt=timezone.now()).exclude(holder="").exists()
    )


def ensure_lease(*, account_id: int) -> None:
    Lease.objects.get_or_create(account_id=account_id, defaults={"expires_at": timezone.now() - timedelta(1)})


def revoke(*, account_id: int) -> None:
    """Take the account from whichever host holds it (proxy change, disable, log-out).

    The lease is only marked: its holder may still be connected, and freeing it now would let another
    host connect the same auth key at once (AUTH_KEY_DUPLICATED). The holder learns of it at its next
    renewal (the caller wakes hosts), disconnects without saving, then releases; a holder that never
    does has dropped the client by the lease's expiry, when claims take it again.

    A free lease gets a new token instead: the update locks the row, so a claim racing a disable or a
    proxy change skips it until that commits (and then reads the new status and proxy), and a claim that
    locked it first is revoked in turn once it commits (PostgreSQL re-reads the row for the update).
    """
    Lease.objects.filter(account_id=account_id).update(
        revoking=Case(When(holder="", then=Value(False)), default=Value(True)),
        token=Case(
            When(holder="", then=F("token") + 1), default=F("token"), output_field=models.BigIntegerField()
        ),
    )
