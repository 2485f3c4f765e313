"""Leases: exactly one session host owns an account at a time (ARCHITECTURE invariant 1).

A lease row carries the holder and a fencing token; it is live while its holder is. A host is alive while
its HostLiveness row has not expired, by the database's clock (never one machine's clock compared with
another's): the host renews that one row every second or so with one small UPDATE, however many accounts
it holds, and a host that cannot renew in time disconnects every client on its own, well before the row
expires (the fence in accounts.host.fence). Once a host's row has expired, every lease it held may
be claimed by others, in batches, with SELECT … FOR UPDATE SKIP LOCKED (two hosts never wait on, or
take, the same row) and a new token; every write of the account's session succeeds only while the
writer's token is the current one and its holder alive, so a paused "zombie" host can never overwrite the
new owner's state.

A revoke (proxy change, disable, log-out) never frees a lease its holder may still be connected on: it
marks the lease ``revoking``, which stops commands and session writes but keeps the holder, so claims
skip it until the holder has disconnected and released it, or until the holder itself is dead.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.db.models.functions import Now
from django.db.models.query import QuerySet

from accounts.models import HOSTED_STATUSES, HostLiveness, Lease


@dataclass(frozen=True)
class Grant:
    account_id: int
    token: int

    @property
    def pair(self) -> tuple[int, int]:
        """(account id, token), as ``holdings`` reports each lease."""
        return self.account_id, self.token


@dataclass(frozen=True)
class Beat:
    """A host's renewal of its own liveness."""

    alive: bool  # False: it had already expired, and every lease it held may have moved on
    next_lapse: float | None  # seconds (database clock) until another host's liveness expires, if any


@dataclass(frozen=True)
class Holdings:
    """The leases held under a host's name, as the database has them, each as (account id, token): plain
    tuples rather than a Grant per lease, because a host reads all of them back every 10 s, and building
    two frozen dataclasses per row cost a host of 5,000 idle accounts over 1 % of a core."""

    held: list[tuple[int, int]]
    # Not revoked, and the account still wants a host (not disabled, banned, re-login needed, gone).
    wanted: set[tuple[int, int]]


def join(*, holder: str, ttl: float) -> None:
    """Start a host's life, or start it again after its liveness expired (it was paused, or cut off from
    the database, longer than the TTL). The leases a previous life left under the name are freed: by
    then every client of that life has been disconnected by the fence, and they were claimable anyway.
    Claims and renewals work only for a live host, so nothing is claimed under the name in between."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows of hosts long dead that hold nothing: one row is left per host process otherwise.
        cursor.execute(
            """
            DELETE FROM accounts_hostliveness h WHERE h.expires_at < now() - interval '1 hour'
              AND NOT EXISTS (SELECT 1 FROM accounts_lease l WHERE l.holder = h.holder)
            """
        )
        cursor.execute("UPDATE accounts_lease SET holder = '', revoking = false WHERE holder = %s", [holder])
        cursor.execute(
            """
            INSERT INTO accounts_hostliveness (holder, beat_at, expires_at)
            VALUES (%s, now(), now() + make_interval(secs => %s))
            ON CONFLICT (holder) DO UPDATE SET beat_at = EXCLUDED.beat_at, expires_at = EXCLUDED.expires_at
            """,
            [holder, ttl],
        )


def beat(*, holder: str, ttl: float) -> Beat:
    """Renew the host's liveness, and with it every lease it holds. An expired liveness is never renewed:
    the host must join again, which frees what its previous life left behind."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_hostliveness SET beat_at = now(), expires_at = now() + make_interval(secs => %s)
            WHERE holder = %s AND expires_at > now()
            RETURNING (SELECT extract(epoch FROM min(o.expires_at) - now()) FROM accounts_hostliveness o
                       WHERE o.holder <> %s AND o.expires_at > now())
            """,
            [ttl, holder, holder],
        )
        row = cursor.fetchone()
    if row is None:
        return Beat(alive=False, next_lapse=None)
    return Beat(alive=True, next_lapse=None if row[0] is None else float(row[0]))


def leave(*, holder: str) -> None:
    """A host shutting down, every client disconnected: whatever it still holds is claimable at once.
    The row stays, expired, for as long as leases name it (claims look for leases of expired hosts)."""
    HostLiveness.objects.filter(holder=holder).update(expires_at=Now())


def claim(*, holder: str, limit: int, ttl: float) -> list[Grant]:
    """Take up to ``limit`` accounts that need a host and have no live owner, for a live host only (the
    claim renews its liveness too).

    Free leases and those of expired hosts are found through the holder index, so a claim that finds
    nothing reads next to nothing, however many accounts live hosts hold. A lease naming a host without
    a liveness row is never claimed: rows are deleted only once no lease names them, and the migration
    that introduced them freed every lease."""
    if limit <= 0:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # Holding our own row until commit: a host whose liveness has expired claims nothing, and a join
        # (which frees a previous life's leases) never runs between this check and the claim.
        cursor.execute(
            """
            UPDATE accounts_hostliveness SET beat_at = now(), expires_at = now() + make_interval(secs => %s)
            WHERE holder = %s AND expires_at > now()
            """,
            [ttl, holder],
        )
        if cursor.rowcount != 1:
            return []
        cursor.execute(
            """
            SELECT l.account_id FROM accounts_lease l
            JOIN accounts_account a ON a.id = l.account_id
            WHERE a.status = ANY(%s) AND (l.holder = '' OR l.holder IN (
              SELECT h.holder FROM accounts_hostliveness h WHERE h.expires_at <= now()))
            LIMIT %s
            FOR UPDATE OF l SKIP LOCKED
            """,
            [list(HOSTED_STATUSES), limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        # Asked again of the rows now locked: a row another host claimed and committed after this
        # statement's snapshot is locked all the same (PostgreSQL rechecks the lease row's own columns,
        # not the liveness this statement saw), and must be left to it.
        cursor.execute(
            """
            UPDATE accounts_lease l
            SET holder = %s, token = token + 1, revoking = false, acquired_at = now()
            WHERE l.account_id = ANY(%s) AND (l.holder = '' OR l.holder IN (
              SELECT h.holder FROM accounts_hostliveness h WHERE h.expires_at <= now()))
            RETURNING l.account_id, l.token
            """,
            [holder, ids],
        )
        return [Grant(account_id, token) for account_id, token in cursor.fetchall()]


@dataclass(frozen=True)
class Fleet:
    wanting: int  # accounts that want a host
    free: int  # of those, how many no live host holds now (claimable)
    other_hosts: int  # live hosts other than the asking one


def fleet(*, holder: str) -> Fleet:
    """The fleet as one host sees it, for its fair share (accounts.host.share). A host that has just
    joined counts as soon as its liveness row does, before it holds anything."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM accounts_account WHERE status = ANY(%(hosted)s)),
                   (SELECT count(*) FROM accounts_lease l JOIN accounts_account a ON a.id = l.account_id
                    WHERE a.status = ANY(%(hosted)s) AND (l.holder = '' OR l.holder IN (
                      SELECT h.holder FROM accounts_hostliveness h WHERE h.expires_at <= now()))),
                   (SELECT count(*) FROM accounts_hostliveness
                    WHERE holder <> %(holder)s AND expires_at > now())
            """,
            {"hosted": list(HOSTED_STATUSES), "holder": holder},
        )
        wanting, free, others = cursor.fetchone()
    return Fleet(wanting=int(wanting), free=int(free), other_hosts=int(others))


def holdings(*, holder: str) -> Holdings:
    """Every lease held under the host's name. The host lets go of what is not wanted any more (revoked,
    or its account disabled, banned, re-login needed, deleted) and releases what it no longer hosts."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.account_id, l.token, NOT l.revoking AND a.status = ANY(%s)
            FROM accounts_lease l JOIN accounts_account a ON a.id = l.account_id
            WHERE l.holder = %s
            """,
            [list(HOSTED_STATUSES), holder],
        )
        rows = cursor.fetchall()
    return Holdings(
        held=[(account_id, token) for account_id, token, _ in rows],
        wanted={(account_id, token) for account_id, token, wanted in rows if wanted},
    )


def release(*, holder: str, grant: Grant) -> bool:
    """Give the account back at once (shutdown, ban, re-login, revoke): another host may take it now.

    Only after the client is disconnected: the next holder connects as soon as this commits.
    """
    return bool(
        Lease.objects.filter(account_id=grant.account_id, holder=holder, token=grant.token).update(
            holder="", revoking=False
        )
    )


def release_left(*, holder: str, grants: list[Grant]) -> int:
    """Release leases the host holds but no longer hosts, all at once (fenced by token, like release)."""
    if not grants:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_lease l SET holder = '', revoking = false
            FROM unnest(%s::bigint[], %s::bigint[]) AS left_(account_id, token)
            WHERE l.account_id = left_.account_id AND l.token = left_.token AND l.holder = %s
            """,
            [[g.account_id for g in grants], [g.token for g in grants], holder],
        )
        return cursor.rowcount


def _holder_alive() -> Exists:
    return Exists(HostLiveness.objects.filter(holder=OuterRef("holder"), expires_at__gt=Now()))


def held() -> QuerySet[Lease]:
    """Leases whose holder is alive: a host may be connected with those accounts' keys."""
    return Lease.objects.exclude(holder="").filter(_holder_alive())


def live_holders() -> set[str]:
    """The names of the session hosts alive now."""
    return set(HostLiveness.objects.filter(expires_at__gt=Now()).values_list("holder", flat=True))


def is_current(*, holder: str, grant: Grant) -> bool:
    """Does this host still hold the account right now? Checked before anything reaches Telegram."""
    return (
        held().filter(account_id=grant.account_id, holder=holder, token=grant.token, revoking=False).exists()
    )


def is_held(*, account_id: int) -> bool:
    """Might a host still be connected with this account's key? (held by a host that is alive)"""
    return held().filter(account_id=account_id).exists()


def ensure_lease(*, account_id: int) -> None:
    Lease.objects.get_or_create(account_id=account_id)


def revoke(*, account_id: int) -> None:
    """Take the account from whichever host holds it (proxy change, disable, log-out).

    The lease is only marked: its holder may still be connected, and freeing it now would let another
    host connect the same auth key at once (AUTH_KEY_DUPLICATED). The holder learns of it at its next
    check (the caller wakes hosts), disconnects without saving, then releases; a holder that dies first
    has dropped the client by the time its liveness expires, when claims take it again.

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
