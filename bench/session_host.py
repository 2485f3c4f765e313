"""Benchmark: accounts one session host holds, its memory per account, and takeover after kill -9.

Run:  DEBUG=1 .venv/bin/python bench/session_host.py [--sizes 100,500,1000] [--takeover 500]
Uses its own database (switchboard_bench, recreated), tgsim in a thread of this process, and real
session-host worker processes. Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from support import ROOT, logged_in_accounts, rss_mb, setup, start_host, wait


def make_accounts(sim, count: int, *, offset: int) -> list[int]:
    # Telegram's test-DC numbers 999662YYYY all log in with the code 22222.
    phones = [f"999662{offset + i:04d}" for i in range(count)]
    return [account for account, _user in logged_in_accounts(sim, phones)]


def connected(ids: list[int]) -> int:
    from accounts.models import Account

    return Account.objects.filter(pk__in=ids, telegram_id__isnull=False).count()


def held_by(ids: list[int], pid: int) -> int:
    from accounts.models import Lease

    return Lease.objects.filter(account_id__in=ids, holder__contains=f"/{pid}/").count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--takeover", type=int, default=500, help="accounts in the takeover run (0 skips it)")
    args = parser.parse_args()

    setup(database="switchboard_bench", queue_prefix="bench")
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    env = {**sim.env(), "SESSION_HOST_CAPACITY": "2000"}
    print(f"tgsim on port {sim.sim.port}; python {sys.version.split()[0]}; {os.cpu_count()} cores")

    ids: list[int] = []
    for size in [int(s) for s in args.sizes.split(",")]:
        started = time.monotonic()
        ids += make_accounts(sim, size - len(ids), offset=len(ids))
        print(f"prepared {len(ids)} logged-in accounts in {time.monotonic() - started:.1f} s")
        host = start_host("solo", env, logs / "host.log")
        try:
            took = wait(lambda ids=ids: connected(ids) == len(ids), timeout=600)
            time.sleep(10)  # let connections settle: catch-up, first checkpoints
            rss = rss_mb(host.pid)
            print(
                f"{len(ids)} accounts: all connected in {took:.1f} s; host RSS {rss:.0f} MB "
                f"({rss * 1024 / len(ids):.0f} KB per account)"
            )
        finally:
            host.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            host.wait(120)
            print(f"  graceful stop (sessions saved, leases released) in {time.monotonic() - stopped:.1f} s")
        from accounts.models import Account

        Account.objects.filter(pk__in=ids).update(telegram_id=None)

    if args.takeover:
        subset = ids[: args.takeover]
        from accounts.models import Account

        Account.objects.exclude(pk__in=subset).update(status=Account.Status.DISABLED)
        host_a = start_host("a", env, logs / "host-a.log")
        wait(
            lambda: connected(subset) == len(subset) and held_by(subset, host_a.pid) == len(subset),
            timeout=600,
        )
        host_b = start_host("b", env, logs / "host-b.log")
        time.sleep(15)  # host b is up and idle (everything is held by a)
        Account.objects.filter(pk__in=subset).update(telegram_id=None)
        os.kill(host_a.pid, signal.SIGKILL)
        killed = time.monotonic()
        moved = wait(lambda: held_by(subset, host_b.pid) == len(subset), timeout=300)
        wait(lambda: connected(subset) == len(subset), timeout=300)
        print(
            f"takeover of {len(subset)} accounts after kill -9: all leases moved in {moved:.1f} s, "
            f"all reconnected in {time.monotonic() - killed:.1f} s (lease TTL 30 s)"
        )
        host_b.send_signal(signal.SIGTERM)
        host_b.wait(120)
    sim.stop()


if __name__ == "__main__":
    main()
