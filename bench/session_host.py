"""Benchmark: accounts one session host holds, how fast it connects them, its memory and idle CPU per
account, several hosts sharing a fleet out, and takeover after kill -9.

Run:  DEBUG=1 .venv/bin/python bench/session_host.py [--sizes 1000,5000,10000] [--share 4x2500]
      [--takeover 500] [--database NAME]
Uses its own database (switchboard_bench, recreated), tgsim in a process of its own (seeded with the
fleet's users and auth keys, so accounts resume saved sessions as on any restart, and the DC is not
what is measured), and real session-host worker processes. The takeover run logs its accounts in
through a tgsim in this process, whose users it makes speak. Prints one line per measurement;
bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sys
import time

from support import (
    ROOT,
    TgsimProcess,
    cpu_seconds,
    imported_accounts,
    logged_in_accounts,
    rss_mb,
    setup,
    start_host,
    wait,
)

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "bench-only-not-a-secret", "ALLOWED_HOSTS": "localhost"}


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


def statuses(*names: str) -> list[dict]:
    """Each named bench host's sessionhost_status ({} if it does not answer)."""
    from crm.celery import app

    hostnames = [f"bench-{name}-{os.getpid()}@{socket.gethostname()}" for name in names]
    replies = app.control.broadcast(
        "sessionhost_status", reply=True, destination=hostnames, limit=len(hostnames), timeout=2
    )
    found = {hostname: status for reply in replies for hostname, status in reply.items()}
    return [found.get(hostname, {}) for hostname in hostnames]


def ready(*names: str) -> list[int]:
    """Accounts connected and ready on each named bench host, 0 if it does not answer."""
    return [int(status.get("ready", 0)) for status in statuses(*names)]


def backfilled(ids: list[int]) -> int:
    from accounts.models import AccountEvent

    done = AccountEvent.objects.filter(account_id__in=ids, kind=AccountEvent.Kind.INBOX_BACKFILLED)
    return done.values("account_id").distinct().count()


def forget_connections(ids: list[int]) -> None:
    """Clear what a connect records (telegram_id), so the next start's connects can be counted."""
    from accounts.models import Account

    Account.objects.filter(pk__in=ids).update(telegram_id=None)


def stop(host) -> float:
    host.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    host.wait(300)
    return time.monotonic() - stopped


def idle_cpu(pid: int, seconds: float) -> float:
    """Percent of one core the process used over ``seconds`` (its own CPU time, not the machine's)."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 100 / seconds


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def one_host(ids: list[int], env: dict[str, str], logs, *, baseline: float, idle: float) -> None:
    size = len(ids)
    for start in ("first start", "restart"):
        host = start_host("solo", env, logs / "host.log")
        try:
            took = wait(lambda: ready("solo") == [size], timeout=900, interval=1)
            queues = statuses("solo")[0]
            print(
                f"{size} accounts, {start}: all connected in {took:.1f} s (load {load()}); the consumer "
                f"started {queues.get('queues')} command queues in {queues.get('queue_seconds')} s",
                flush=True,
            )
            if start == "first start":
                # A first start also backfills each inbox once in the account's life: let that finish, so
                # the restart measures what a restart of a loaded host does.
                wait(lambda: backfilled(ids) == size, timeout=900, interval=1)
            else:
                time.sleep(20)  # let connections settle: catch-up, first checkpoints
                cpu = idle_cpu(host.pid, idle)
                rss = rss_mb(host.pid)
                print(
                    f"  idle {idle:.0f} s: {cpu:.1f} % of a core; RSS {rss:.0f} MB, "
                    f"{(rss - baseline) * 1024 / size:.0f} KB per account above an empty host "
                    f"({baseline:.0f} MB) (load {load()})",
                    flush=True,
                )
        finally:
            print(f"  graceful stop (sessions saved, leases released) in {stop(host):.1f} s", flush=True)


def share_out(hosts: int, ids: list[int], env: dict[str, str], logs) -> None:
    """Start ``hosts`` hosts a few seconds apart on one fleet: how evenly do they split it?"""
    started = time.monotonic()
    procs = []
    names = [f"share{n}" for n in range(hosts)]
    try:
        for n in range(hosts):
            procs.append(start_host(names[n], env, logs / f"host-{names[n]}.log"))
            time.sleep(5 if n < hosts - 1 else 0)
        last = time.monotonic()

        def all_ready() -> bool:
            nonlocal last
            counts = ready(*names)
            if time.monotonic() - last >= 30:  # progress, so that a run that never gets there says how far
                last = time.monotonic()
                print(f"  +{last - started:.0f} s: ready per host {counts} (load {load()})", flush=True)
            return sum(counts) == len(ids)

        took = wait(all_ready, timeout=1200, interval=1)
        print(
            f"{len(ids)} accounts over {hosts} hosts started 5 s apart: all ready {took:.1f} s after the "
            f"last start, {time.monotonic() - started:.1f} s after the first; ready per host "
            f"{ready(*names)} (load {load()})",
            flush=True,
        )
        for _ in range(6):
            time.sleep(10)
            print(f"  +{time.monotonic() - started:.0f} s: ready per host {ready(*names)}", flush=True)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(300)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds over which idle CPU is measured")
    parser.add_argument(
        "--share", default="4x2500", help="HOSTSxACCOUNTS each for the share-out run ('' skips)"
    )
    parser.add_argument("--takeover", type=int, default=500, help="accounts in the takeover run (0 skips it)")
    parser.add_argument("--database", default="switchboard_bench", help="its own database (recreated)")
    parser.add_argument("--prefix", default="bench", help="its command queues' prefix (before the pid)")
    parser.add_argument("--ttl", default="", help="SESSION_LEASE_TTL for the size and share-out runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    share_hosts, share_each = (int(x) for x in args.share.split("x")) if args.share else (0, 0)
    total = max([*sizes, share_hosts * share_each])

    setup(database=args.database, queue_prefix=args.prefix)
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    # Test-DC numbers 99966XYYYY: 10,000 per DC digit X.
    phones = [f"99966{3 + i // 10000}{i % 10000:04d}" for i in range(total)]
    prepared = time.monotonic()
    sim = TgsimProcess(logs / "fleet", phones)
    ids = imported_accounts(sim, 0, total)
    print(
        f"tgsim (own process) on port {sim.port}; {total} accounts imported in "
        f"{time.monotonic() - prepared:.1f} s; python {sys.version.split()[0]}; {os.cpu_count()} cores",
        flush=True,
    )
    from accounts.models import Account

    try:
        # Hosts run as in production: DEBUG off (DEBUG keeps every query in memory).
        env = {**sim.env(), **PRODUCTION, "SESSION_HOST_CAPACITY": str(max([*sizes, 1]))}
        if args.ttl:
            env["SESSION_LEASE_TTL"] = args.ttl
        Account.objects.update(status=Account.Status.DISABLED)
        empty = start_host("empty", env, logs / "host.log")
        time.sleep(15)
        baseline = rss_mb(empty.pid)
        stop(empty)
        for size in sizes:
            Account.objects.filter(pk__in=ids[:size]).update(status=Account.Status.ACTIVE)
            one_host(ids[:size], env, logs, baseline=baseline, idle=args.idle)
            Account.objects.update(status=Account.Status.DISABLED)
        if share_hosts:
            subset = ids[: share_hosts * share_each]
            Account.objects.filter(pk__in=subset).update(status=Account.Status.ACTIVE)
            share_out(share_hosts, subset, {**env, "SESSION_HOST_CAPACITY": str(len(subset))}, logs)
            Account.objects.update(status=Account.Status.DISABLED)
    finally:
        sim.stop()
    if args.takeover:
        # Its own tgsim in this process: the takeover run makes tgsim users speak and reads what they got.
        from tests.support.tgsim import SimThread

        Account.objects.update(status=Account.Status.DISABLED)
        in_process = SimThread(logs).start()
        accounts = make_accounts(in_process, args.takeover, offset=0)
        takeover(
            in_process, {**in_process.env(), **PRODUCTION, "SESSION_HOST_CAPACITY": "2000"}, logs, accounts
        )
        in_process.stop()


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
    # Named after this run: another run's bench hosts must not answer for these.
    name_a, name_b = f"a{os.getpid()}", f"b{os.getpid()}"
    host_a = start_host(name_a, env, logs / "host-a.log")
    wait(
        lambda: connected(subset) == len(subset) and held_by(subset, host_a.pid) == len(subset),
        timeout=600,
    )
    # Each inbox's once-in-a-life backfill is done, as on any host that has run for a while: the heir
    # does what a takeover does, not a first start.
    wait(lambda: backfilled(subset) == len(subset), timeout=600, interval=1)
    host_b = start_host(name_b, env, logs / "host-b.log")
    time.sleep(15)  # host b is up and idle (everything is held by a)
    users = dict(Account.objects.filter(pk__in=subset).values_list("pk", "telegram_id"))
    writers = sim.run(lambda: sim.world.bulk_create_users(len(subset), prefix="takeover"))
    peer = sim.world_call("create_user", phone="4471000001", first_name="Peer", username="takeoverpeer")
    senders = subset[:50]
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
    wait(lambda: held_by(subset, host_b.pid) == len(subset), timeout=300, interval=0.05)
    moved = time.monotonic() - killed
    # Connected, signed in (getMe answered) and consuming its queue, by the heir's own count.
    wait(lambda: ready(name_b) == [len(subset)], timeout=300, interval=0.1)
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


if __name__ == "__main__":
    main()
