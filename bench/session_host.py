"""Benchmark: accounts one session host holds, its memory per account, and takeover after kill -9.

Run:  DEBUG=1 .venv/bin/python bench/session_host.py [--sizes 100,500,1000] [--takeover 500] [--database …]
Uses its own database (switchboard_bench, recreated), tgsim in a thread of this process, and real
session-host worker processes. Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import random
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


def takeover(sim, env: dict[str, str], logs, subset: list[int]) -> None:
    """kill -9 of a host holding ``subset``, an idle second host beside it. While no host holds them,
    every account gets a private message and 50 of them are asked to send one: after the takeover each
    is stored once, sent once, and tgsim saw no AUTH_KEY_DUPLICATED."""
    from celery.result import AsyncResult
    from django.conf import settings

    from accounts import commands
    from accounts.models import Account
    from inbox.models import Message

    Account.objects.exclude(pk__in=subset).update(status=Account.Status.DISABLED)
    host_a = start_host("a", env, logs / "host-a.log")
    wait(
        lambda: connected(subset) == len(subset) and held_by(subset, host_a.pid) == len(subset),
        timeout=600,
    )
    host_b = start_host("b", env, logs / "host-b.log")
    time.sleep(15)  # host b is up and idle (everything is held by a)
    users = dict(Account.objects.filter(pk__in=subset).values_list("pk", "telegram_id"))
    writers = sim.run(lambda: sim.world.bulk_create_users(len(subset), prefix="takeover"))
    peer = sim.world_call("create_user", phone="4471000001", first_name="Peer", username="takeoverpeer")
    senders = subset[:50]
    Account.objects.filter(pk__in=subset).update(telegram_id=None)
    load = os.getloadavg()[0]
    os.kill(host_a.pid, signal.SIGKILL)
    killed = time.monotonic()

    def inbound() -> None:
        for account, writer in zip(subset, writers, strict=True):
            sim.world.say(writer, to_user_id=users[account], text=f"while its host was dead {account}")

    sim.run(inbound)
    tasks = [
        commands.send.queue(
            Account(pk=account),
            peer="@takeoverpeer",
            text=f"asked while its host was dead {account}",
            random_id=random.getrandbits(63),
        )
        for account in senders
    ]
    moved = wait(lambda: held_by(subset, host_b.pid) == len(subset), timeout=300, interval=0.05)
    wait(lambda: connected(subset) == len(subset), timeout=300, interval=0.05)
    reconnected = time.monotonic() - killed
    results = [AsyncResult(task).get(timeout=120) for task in tasks]
    received = Message.objects.filter(text__startswith="while its host was dead")
    wait(lambda: received.count() >= len(subset), timeout=120)
    time.sleep(3)  # anything stored twice would show up by now
    stored = received.count()
    sent = sum(
        [m["text"] for m in sim.world_call("messages_between", users[a], peer)].count(
            f"asked while its host was dead {a}"
        )
        for a in senders
    )
    duplicated = sim.run(lambda: sum(rec.duplicated for rec in sim.sim.server.keys.values()))
    print(
        f"takeover of {len(subset)} accounts after kill -9 (TTL {settings.SESSION_LEASE_TTL:g} s, "
        f"load average {load:.1f}): all leases moved in {moved:.1f} s, all reconnected in "
        f"{reconnected:.1f} s; received while dead {stored}/{len(subset)} stored once; "
        f"sends {sum(r['ok'] for r in results)}/{len(senders)} ok, {sent} on Telegram; "
        f"AUTH_KEY_DUPLICATED {duplicated}"
    )
    host_b.send_signal(signal.SIGTERM)
    host_b.wait(120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--takeover", type=int, default=500, help="accounts in the takeover run (0 skips it)")
    parser.add_argument("--database", default="switchboard_bench", help="its own database (recreated)")
    args = parser.parse_args()

    setup(database=args.database, queue_prefix="bench")
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    env = {**sim.env(), "SESSION_HOST_CAPACITY": "2000"}
    print(f"tgsim on port {sim.sim.port}; python {sys.version.split()[0]}; {os.cpu_count()} cores")

    ids: list[int] = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
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
        ids += (
            make_accounts(sim, args.takeover - len(ids), offset=len(ids)) if len(ids) < args.takeover else []
        )
        takeover(sim, env, logs, ids[: args.takeover])
    sim.stop()


if __name__ == "__main__":
    main()
