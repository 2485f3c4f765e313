"""Benchmark: what auto-assignment costs ingestion.

Run:  .venv/bin/python bench/teams_assign.py [--messages 4000] [--batch 1000]
Uses its own database (switchboard_bench_teams, recreated). Times inbox.store.ingest of received
messages, each from a new person (so every message opens a new conversation), in batches of ``batch``:
first on 20 accounts in no team, then on 20 accounts of one team with auto-assignment on and 10 online
members of capacity 200 (room for 2,000 conversations, so the later batches find everyone full). Prints
one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from support import setup


def records(account_ids: list[int], count: int, start: int) -> list:
    from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo

    now = datetime.now(tz=UTC)
    rows = []
    for n in range(start, start + count):
        user = UserInfo(telegram_id=80_000_000 + n, access_hash=n, first_name="Load", last_name=str(n))
        peer = PeerInfo(peer_id=user.telegram_id, kind="private", title=user.display_name, user=user)
        rows.append(
            MessageRecord(
                account_id=account_ids[n % len(account_ids)], peer=peer, telegram_id=1_000_000 + n, out=False,
                date=now, text=f"load test message {n}", sender=user, sender_name=user.display_name,
            )
        )  # fmt: skip
    return rows


def ingest_rate(account_ids: list[int], count: int, start: int, batch: int) -> tuple[float, float]:
    """Messages per second, and the slowest batch in milliseconds."""
    from inbox import store
    from inbox.records import Batch

    rows = records(account_ids, count, start)
    slowest = 0.0
    began = time.perf_counter()
    for offset in range(0, count, batch):
        started = time.perf_counter()
        store.ingest(Batch(messages=rows[offset : offset + batch]))
        slowest = max(slowest, time.perf_counter() - started)
    return count / (time.perf_counter() - began), slowest * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    setup(database="switchboard_bench_teams", queue_prefix="benchteams")

    from django.utils import timezone

    from accounts import services as accounts
    from crm.models import User
    from inbox.models import Conversation
    from teams import services

    api_app = accounts.api_app_create(name="bench", api_id=1, api_hash="0123456789abcdef" * 2)
    loose = [accounts.account_create(phone=f"99966{i:05d}", api_app=api_app).pk for i in range(20)]
    owned = [accounts.account_create(phone=f"99967{i:05d}", api_app=api_app).pk for i in range(20)]
    admin = User.objects.create_user("bench-admin", role=User.Role.ADMIN)
    team = services.team_create(name="Bench")
    services.team_set_auto_assign(team=team, on=True)
    for account_id in owned:
        services.team_account_add(team=team, account_id=account_id, by=admin)
    for n in range(10):
        user = User.objects.create_user(f"bench-op{n}", role=User.Role.OPERATOR)
        services.member_add(team=team, user_id=user.pk, capacity=200, by=admin)
    User.objects.update(last_seen_at=timezone.now())

    rate, slowest = ingest_rate(loose, args.messages, 0, args.batch)
    print(f"no team:            {rate:7.0f} messages/s, slowest batch {slowest:6.0f} ms")
    rate, slowest = ingest_rate(owned, args.messages, args.messages, args.batch)
    assigned = Conversation.objects.filter(account_id__in=owned, assignee__isnull=False).count()
    print(f"team, auto-assign:  {rate:7.0f} messages/s, slowest batch {slowest:6.0f} ms, {assigned} assigned")


if __name__ == "__main__":
    main()
