"""Benchmark: inbox ingestion end to end (tgsim → Telethon → PostgreSQL) from many accounts.

Run:  DEBUG=1 .venv/bin/python bench/inbox_ingest.py [--accounts 200] [--per 100]
Uses its own database (switchboard_bench_inbox_ingest, recreated), tgsim in a thread of this process
and one real session-host worker process holding every account. Personas write ``per`` private
messages to each account as fast as tgsim takes them; the clock runs from the first message sent to
the last one stored. Also times the storage step alone (inbox.store.ingest) on the same machine.
Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import UTC, datetime

from support import ROOT, cpu_seconds, logged_in_accounts, setup, start_host, wait


def make_accounts(sim, count: int) -> list[tuple[int, int]]:
    """``count`` logged-in accounts: (account id, tgsim user id)."""
    base = 7000 + (os.getpid() % 200) * 10
    return logged_in_accounts(
        sim, [f"999662{(base + i) % 10000:04d}" for i in range(count)], first_name="Desk"
    )


def store_alone(count: int) -> float:
    """Records per second through inbox.store.ingest alone, in batches like a busy host's flushes."""
    from accounts.models import Account
    from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
    from inbox import store
    from inbox.records import Batch

    accounts = list(Account.objects.values_list("id", flat=True))
    now = datetime.now(tz=UTC)
    records = []
    for n in range(count):
        user = UserInfo(
            telegram_id=90_000_000 + n % 2000, access_hash=n, first_name="Load", last_name=str(n % 2000)
        )
        records.append(
            MessageRecord(
                account_id=accounts[n % len(accounts)],
                peer=PeerInfo(peer_id=user.telegram_id, kind="private", title=user.display_name, user=user),
                telegram_id=1_000_000 + n,
                out=False,
                date=now,
                text=f"load test message {n}",
                sender=user,
                sender_name=user.display_name,
            )
        )
    started = time.perf_counter()
    for start in range(0, count, 1000):
        store.ingest(Batch(messages=records[start : start + 1000]))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--per", type=int, default=100, help="messages each account receives")
    args = parser.parse_args()

    setup(database="switchboard_bench_inbox_ingest", queue_prefix="benchinbox")
    from accounts.models import Account, AccountEvent
    from inbox.models import Message
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    print(f"tgsim on port {sim.sim.port}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
    started = time.monotonic()
    pairs = make_accounts(sim, args.accounts)
    senders = sim.run(lambda: sim.world.bulk_create_users(args.accounts, prefix="writer"))
    print(f"prepared {len(pairs)} logged-in accounts in {time.monotonic() - started:.1f} s")

    host = start_host("inbox", {**sim.env(), "SESSION_HOST_CAPACITY": "2000"}, logs / "inbox-host.log")
    try:
        ids = [a for a, _ in pairs]
        took = wait(
            lambda: (
                AccountEvent.objects.filter(account_id__in=ids, kind="inbox_backfilled").count() == len(ids)
            ),
            600,
        )
        print(f"{len(ids)} accounts connected and backfilled in {took:.1f} s")
        time.sleep(5)

        total = args.accounts * args.per

        def burst(round_: int) -> None:
            world = sim.world
            for (_, user), sender in zip(pairs, senders, strict=True):
                world.say(
                    sender, to_user_id=user, text=f"round {round_} from {sender}: is the flat still free?"
                )

        host_cpu, sim_cpu = cpu_seconds(host.pid), cpu_seconds(os.getpid())
        first = time.monotonic()
        for round_ in range(args.per):
            sim.run(burst, round_)
        sent = time.monotonic() - first
        wait(lambda: Message.objects.count() >= total, timeout=900, interval=0.02)
        stored = time.monotonic() - first
        host_cpu, sim_cpu = cpu_seconds(host.pid) - host_cpu, cpu_seconds(os.getpid()) - sim_cpu
        print(f"tgsim accepted {total} messages in {sent:.1f} s ({total / sent:.0f}/s)")
        print(
            f"ingested {total} messages from {len(ids)} accounts in {stored:.1f} s: "
            f"{total / stored:.0f} messages/s "
            f"end to end (first sent → last stored)"
        )
        print(
            f"session host CPU {host_cpu:.1f} s = {host_cpu / total * 1e6:.0f} µs per message "
            f"(Telethon, conversion, storage calls); tgsim + this process {sim_cpu:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        assert Message.objects.count() == total, "duplicates or losses"
        assert Account.objects.filter(pk__in=ids, conversations__isnull=False).distinct().count() == len(ids)
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(120)
    rate = store_alone(20_000)
    print(f"storage alone (inbox.store.ingest, batches of 1000): {rate:.0f} messages/s")
    sim.stop()


if __name__ == "__main__":
    main()
