"""Benchmark: the database load of lease ownership alone (liveness renewals, claims, lease checks) while
session hosts hold many accounts and nothing else happens.

Run:  DEBUG=0 .venv/bin/python bench/lease_load.py [--accounts 5000] [--hosts 2] [--seconds 60]
      [--database NAME]
Its own database (takeover_bench_leases unless --database names another, recreated). The accounts are
rows only: each host is a real SessionHost (its loop, renewals, claims, checks and fence) in this
process, but its clients are stand-ins, so no Telegram connection, checkpoint or command adds to the
figures. Reads PostgreSQL's own
counters for the database (pg_stat_database) before and after ``--seconds`` of idle hosting, and counts
calls into accounts.leases. Runs against any revision whose SessionHost takes (name, capacity, ttl).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter

from support import cpu_seconds, setup, wait

COUNTERS = ("xact_commit", "tup_updated", "tup_inserted", "tup_deleted", "tup_returned", "tup_fetched")


def database_counters() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"  # noqa: S608
        )
        return dict(zip(COUNTERS, cursor.fetchone(), strict=True))


def make_accounts(count: int) -> None:
    from accounts.devices import choose_device
    from accounts.models import Account, ApiApp, Lease
    from accounts.services import api_app_create

    app = ApiApp.objects.first() or api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    phones = [f"99966{i:06d}" for i in range(count)]
    Account.objects.bulk_create(
        [
            Account(phone=p, api_app=app, status=Account.Status.ACTIVE, **choose_device(seed=p))
            for p in phones
        ],
        batch_size=1000,
    )
    ids = Account.objects.filter(phone__in=phones).values_list("pk", flat=True)
    Lease.objects.bulk_create([Lease(account_id=pk) for pk in ids], batch_size=1000)


def count_calls(calls: Counter) -> None:
    """Count what the hosts ask of accounts.leases (whatever functions this revision has)."""
    from accounts import leases

    for name in ("join", "beat", "claim", "renew", "holdings", "release", "release_left", "is_current"):
        fn = getattr(leases, name, None)
        if fn is None:
            continue

        def counted(*args, _fn=fn, _name=name, **kwargs):
            calls[_name] += 1
            return _fn(*args, **kwargs)

        setattr(leases, name, counted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database", default="takeover_bench_leases", help="its own database (recreated)")
    args = parser.parse_args()

    setup(database=args.database, queue_prefix="takeoverbench")
    from django.conf import settings

    from accounts.host import lifecycle
    from accounts.host.runtime import SessionHost
    from accounts.models import Lease

    async def stand_in(host, hosted) -> None:
        class Client:
            async def disconnect(self) -> None: ...

        hosted.client = Client()
        await asyncio.Event().wait()

    lifecycle.supervise = stand_in
    started = time.monotonic()
    make_accounts(args.accounts)
    print(f"{args.accounts} accounts (rows only) in {time.monotonic() - started:.1f} s")
    calls: Counter = Counter()
    count_calls(calls)
    ttl = settings.SESSION_LEASE_TTL
    hosts = [
        SessionHost(name=f"takeover-bench-{i}", capacity=args.accounts, ttl=ttl) for i in range(args.hosts)
    ]
    for host in hosts:
        host.start()
    try:
        took = wait(lambda: not Lease.objects.filter(holder="").exists(), timeout=600)
        print(f"all {args.accounts} leases held by {args.hosts} hosts in {took:.1f} s (TTL {ttl:g} s)")
        time.sleep(10)  # first checks and claims settle
        calls.clear()
        before, cpu_before, load_before = database_counters(), cpu_seconds(os.getpid()), os.getloadavg()[0]
        time.sleep(args.seconds)
        after, cpu_after, load_after = database_counters(), cpu_seconds(os.getpid()), os.getloadavg()[0]
        counted = dict(calls)
    finally:
        for host in hosts:
            host.stop(timeout=60)
    per_second = {k: (after[k] - before[k]) / args.seconds for k in COUNTERS}
    print(f"over {args.seconds:g} s of idle hosting (load average {load_before:.1f} → {load_after:.1f}):")
    print("  database, per second: " + ", ".join(f"{k} {v:.1f}" for k, v in per_second.items()))
    print("  calls into accounts.leases, per second: " + ", ".join(
        f"{name} {n / args.seconds:.2f}" for name, n in sorted(counted.items())
    ))  # fmt: skip
    cpu = 100 * (cpu_after - cpu_before) / args.seconds
    print(f"  this process (hosts and harness) CPU: {cpu:.1f} % of a core")


if __name__ == "__main__":
    main()
