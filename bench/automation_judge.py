"""Benchmark: how fast the general worker judges received messages (automation.services.messages_judge).

Run:  .venv/bin/python bench/automation_judge.py [--messages 5000] [--batch 50]
Uses its own database (switchboard_bench_automation, recreated). One account with a username; inbound
messages written straight to the database, half in a group (a third of them mention the account, a
third reply to its message), half direct messages from senders on the allowlist (pairing policy). No
pairing replies are made (they would queue account commands). Prints messages judged per second in this
one process and the queries each message costs; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import time

from support import setup


def populate(count: int) -> list[int]:
    from accounts.models import ApiApp
    from accounts.services import account_create
    from automation.models import AllowedSender, AutomationSettings
    from inbox.models import Contact, Conversation, Message

    app = ApiApp.objects.create(name="bench", api_id=611335, api_hash_sealed=b"")
    account = account_create(phone="9996620001", api_app=app)
    account.telegram_id, account.username = 5_000_000, "bench_agent"
    account.save(update_fields=["telegram_id", "username"])
    AutomationSettings.objects.create(account=account, group_policy="both")
    group = Conversation.objects.create(account=account, peer_id=-100_777, kind="group", title="Bench group")
    Message.objects.create(conversation=group, telegram_id=1, direction="out", text="I am the agent")
    people = Contact.objects.bulk_create(
        Contact(telegram_id=9_000_000 + n, username=f"writer{n}", first_name=f"Writer {n}")
        for n in range(200)
    )
    AllowedSender.objects.bulk_create(AllowedSender(account=account, user_id=c.telegram_id) for c in people)
    chats = Conversation.objects.bulk_create(
        Conversation(account=account, peer_id=c.telegram_id, kind="private", contact=c) for c in people
    )
    rows = []
    for n in range(count):
        who = people[n % len(people)]
        if n % 2:
            rows.append(Message(conversation=chats[n % len(chats)], telegram_id=10 + n, direction="in",
                                text=f"direct {n}", sender=who))  # fmt: skip
            continue
        text, entities, reply = f"group message {n}", [], None
        if n % 3 == 0:
            text = f"@bench_agent question {n}"
            entities = [{"type": "mention", "offset": 0, "length": 12}]
        elif n % 3 == 1:
            reply = 1
        rows.append(Message(conversation=group, telegram_id=10 + n, direction="in", text=text,
                            entities=entities, reply_to_id=reply, sender=who))  # fmt: skip
    return [m.pk for m in Message.objects.bulk_create(rows)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument(
        "--batch", type=int, default=50, help="ids per task, as an ingestion flush sends them"
    )
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    setup(database="switchboard_bench_automation", queue_prefix="benchjudge")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automation import services
    from automation.models import Judgement

    ids = populate(args.messages)
    with CaptureQueriesContext(connection) as sample:
        services.messages_judge(message_ids=ids[: args.batch])
    queries = len(sample) / args.batch
    ids = ids[args.batch :]
    load = os.getloadavg()
    started = time.perf_counter()
    admitted = 0
    for start in range(0, len(ids), args.batch):
        admitted += services.messages_judge(message_ids=ids[start : start + args.batch])
    elapsed = time.perf_counter() - started
    assert Judgement.objects.count() == len(ids) + args.batch
    print(f"judged {len(ids)} messages in {elapsed:.2f} s: {len(ids) / elapsed:,.0f} messages/s, "
          f"{queries:.1f} queries per message, {admitted} admitted; "
          f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
