"""Benchmark: what the reports' rollup triggers cost ingestion (inbox.store.ingest, batches of 1,000).

Run:  .venv/bin/python bench/reports_rollup_cost.py [--messages 20000] [--answered 2000] [--rounds 3]
Uses its own database (bench_rollup_cost, recreated). Each round stores the same shapes of traffic twice,
once with the rollup triggers on inbox_message and inbox_responseevent enabled and once disabled (in
alternating order, so a change in the machine's load hits both alike), on private chats of 20 accounts:
``--messages`` inbound messages (what a busy host mostly flushes), then ``--answered`` messages where
each inbound one is answered by an automated outbound one (each answer writes a reply-time event, one
ORM insert at a time, so the event trigger fires per event). Prints messages per second and the load.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import views_setup

ACCOUNTS = 20
TRIGGERS = ("inbox_message", "inbox_responseevent")
_ids = itertools.count(1_000_000)


def store_rate(count: int, *, peer_base: int, answered: bool) -> float:
    """Messages per second through inbox.store.ingest: inbound ones, each followed by an automated answer
    a minute on if ``answered``."""
    from accounts.models import Account
    from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
    from inbox import store
    from inbox.records import Batch

    accounts = list(Account.objects.values_list("id", flat=True))
    start = datetime.now(tz=UTC) - timedelta(days=2)
    records = []
    for n in range(count // 2 if answered else count):
        user = UserInfo(telegram_id=peer_base + n % 2000, access_hash=n, first_name="Load", last_name=str(n))
        peer = PeerInfo(peer_id=user.telegram_id, kind="private", title=user.display_name, user=user)
        at = start + timedelta(seconds=n * 5)
        for out in (False, True) if answered else (False,):
            records.append(
                MessageRecord(
                    account_id=accounts[n % len(accounts)], peer=peer, telegram_id=next(_ids), out=out,
                    date=at + timedelta(minutes=out), text=f"load {n}", sender=None if out else user,
                )
            )  # fmt: skip
    started = time.perf_counter()
    for first in range(0, len(records), 1000):
        store.ingest(Batch(messages=records[first : first + 1000]))
    return len(records) / (time.perf_counter() - started)


def triggers(*, enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--answered", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    views_setup(database="bench_rollup_cost", fresh=True)
    from accounts.devices import choose_device
    from accounts.models import Account
    from accounts.services import api_app_create

    app = api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    Account.objects.bulk_create(
        Account(phone=f"99966{n:05d}", api_app=app, status="active", **choose_device(seed=str(n)))
        for n in range(ACCOUNTS)
    )
    peers = itertools.count(90_000_000, 10_000)
    for round_ in range(args.rounds):
        for answered, count in ((False, args.messages), (True, args.answered)):
            rates = {}
            for enabled in (True, False) if round_ % 2 == 0 else (False, True):
                triggers(enabled=enabled)
                rates[enabled] = store_rate(count, peer_base=next(peers), answered=answered)
            triggers(enabled=True)
            print(
                f"round {round_ + 1}, {'answered' if answered else 'inbound'}: "
                f"with rollups {rates[True]:,.0f} messages/s, without {rates[False]:,.0f} messages/s "
                f"({rates[True] / rates[False] - 1:+.0%}); load {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
