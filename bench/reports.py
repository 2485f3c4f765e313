"""Benchmark: each report's server time at 1,000,000 messages, 50,000 conversations and 100,000 sends.

Run:  .venv/bin/python bench/reports.py [--runs 15] [--reuse] [--database bench_reports]
Uses its own database (bench_reports unless given, recreated), filled with set-based SQL (generate_series): 50
accounts, 5 operators, 50,000 private conversations of 20 messages each over the last 60 days, the
reporting events those replies would have written, 50,000 campaign recipients with two steps each
(100,000 sends), read receipts and replies. Times each selector and each page / CSV through Django's
test client (full middleware and templates, DEBUG off). Prints median and p95; bench/README.md has them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import timed, views_setup

CONVERSATIONS, PER, ACCOUNTS, OPERATORS = 50_000, 20, 50, 5


FILL = [
    # Contacts and one private conversation each, spread over the accounts; every 7th closed.
    """
    INSERT INTO inbox_contact (telegram_id, username, first_name, last_name, phone, is_bot, is_deleted,
                               opted_out, created_at, updated_at)
    SELECT 5000000 + g, 'user' || g, 'Person', 'No' || g, '', false, false, false, now(), now()
    FROM generate_series(1, {conversations}) g
    """,
    """
    INSERT INTO inbox_conversation (account_id, peer_id, kind, contact_id, title, username, last_message_at,
        last_message_preview, unread_count, read_inbox_max_id, read_outbox_max_id, state, created_at,
        assignee_id)
    SELECT (SELECT min(id) FROM accounts_account) + (c.id % {accounts}), c.telegram_id, 'private', c.id,
           c.first_name, c.username, now(), '', 0, 0, (c.id % 4) * 2,
           CASE WHEN c.id % 7 = 0 THEN 'closed' ELSE 'open' END, now(),
           (SELECT min(id) FROM crm_user) + (c.id % {operators})
    FROM inbox_contact c
    """,
    # 20 messages each, alternating in / out over the last 60 days; replies come 1 min to ~1 day later.
    """
    INSERT INTO inbox_message (conversation_id, telegram_id, direction, sender_name, text, entities,
        media_kind, media, date, deleted, delivery, failure_reason, created_at, sent_by_id)
    SELECT v.id, n, CASE WHEN n % 2 = 0 THEN 'out' ELSE 'in' END, '', 'message ' || n, '[]', '', '{{}}',
           now() - ((v.id % 60) || ' days')::interval + (n * 3600 + ((v.id * n) % 600) * (n % 2 = 0)::int
               * ((v.id % 5) + 1) * 30 || ' seconds')::interval,
           false, 'sent', '', now(),
           CASE WHEN n % 2 = 0 AND n % 6 <> 0 THEN (SELECT min(id) FROM crm_user) + ((v.id + n) % {operators})
           END
    FROM inbox_conversation v CROSS JOIN generate_series(1, {per}) n
    """,
    """
    UPDATE inbox_conversation c SET last_message_at = m.date, last_direction = m.direction
    FROM (SELECT DISTINCT ON (conversation_id) conversation_id, date, direction FROM inbox_message
          ORDER BY conversation_id, date DESC, id DESC) m
    WHERE m.conversation_id = c.id
    """,
    # Labels on one conversation in five.
    "INSERT INTO inbox_label (name, color) SELECT 'label ' || g, '#6b7785' FROM generate_series(1, 8) g",
    """
    INSERT INTO inbox_conversation_labels (conversation_id, label_id)
    SELECT c.id, (SELECT min(id) FROM inbox_label) + (c.id % 8) FROM inbox_conversation c WHERE c.id % 5 = 0
    """,
    # The events the replies wrote: each outbound answers the inbound just before it.
    """
    INSERT INTO inbox_responseevent (kind, at, conversation_id, message_id, account_id, operator_id,
        automated, labels, seconds, business_seconds)
    SELECT CASE WHEN o.telegram_id = 2 THEN 'first_response' ELSE 'reply_time' END, o.date, c.id, o.id,
           c.account_id, o.sent_by_id, o.sent_by_id IS NULL,
           CASE WHEN c.id % 5 = 0 THEN ARRAY[(SELECT min(id) FROM inbox_label) + (c.id % 8)]::bigint[]
                ELSE '{{}}' END,
           extract(epoch FROM o.date - i.date), extract(epoch FROM o.date - i.date) / 3
    FROM inbox_message o JOIN inbox_conversation c ON c.id = o.conversation_id
    JOIN inbox_message i ON i.conversation_id = o.conversation_id AND i.telegram_id = o.telegram_id - 1
    WHERE o.direction = 'out'
    """,
    # Campaigns: 50,000 recipients, two steps each (100,000 sends); a tenth failed.
    """
    INSERT INTO outreach_audience (name, require_username, exclude_contacted, exclude_opted_out, created_at)
    VALUES ('bench', false, false, true, now())
    """,
    """
    INSERT INTO outreach_campaign (name, template, media, audience_id, daily_cap, gap_min, gap_max,
        window_start, window_end, timezone, stop_on_reply, allow_recontact, state, created_at)
    SELECT 'Campaign ' || g, '{{Hi|Hello}} there', '', (SELECT min(id) FROM outreach_audience), 20, 60, 300,
           '09:00', '18:00', 'UTC', true, false, 'running', now()
    FROM generate_series(1, 5) g
    """,
    """
    INSERT INTO outreach_recipient (campaign_id, contact_id, account_id, state, step, first_sent_at,
        first_message_id, last_sent_at, reason)
    SELECT (SELECT min(id) FROM outreach_campaign) + (c.id % 5), c.contact_id, c.account_id, 'contacted', 1,
           now(), 1, now(), ''
    FROM inbox_conversation c
    """,
    """
    INSERT INTO outreach_send (campaign_id, recipient_id, account_id, step, state, day, due_at, random_id,
        resolves, text, variant, message_id, reason, queued_at, sent_at)
    SELECT r.campaign_id, r.id, r.account_id, s,
           CASE WHEN r.id % 10 = 0 AND s = 0 THEN 'failed' ELSE 'sent' END, current_date,
           now() - ((r.id % 60) || ' days')::interval, r.id * 2 + s, false,
           CASE WHEN r.id % 2 = 0 THEN 'Hi there' ELSE 'Hello there' END, (r.id % 2)::text || '.' || s,
           1 + s * 4, CASE WHEN r.id % 10 = 0 AND s = 0
                           THEN 'The recipient''s privacy settings do not allow this' ELSE '' END,
           now(), now() - ((r.id % 60) || ' days')::interval
    FROM outreach_recipient r CROSS JOIN generate_series(0, 1) s
    """,
]


def fill() -> None:
    from django.db import connection

    from accounts.devices import choose_device
    from accounts.models import Account
    from accounts.services import api_app_create
    from crm.models import User
    from inbox.models import Conversation
    from outreach.models import Recipient
    from outreach.outcomes import reads_record, replies_credit

    app = api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    Account.objects.bulk_create(
        Account(phone=f"99966{n:05d}", api_app=app, status="active", first_name=f"Desk {n}",
                **choose_device(seed=str(n)))
        for n in range(ACCOUNTS)
    )  # fmt: skip
    for n in range(OPERATORS):
        User.objects.create_user(f"operator{n}", role=User.Role.OPERATOR)
    with connection.cursor() as cursor:
        for sql in FILL:
            # No parameters: the statements are constants, so their % are PostgreSQL's modulo.
            cursor.execute(
                sql.format(conversations=CONVERSATIONS, accounts=ACCOUNTS, per=PER, operators=OPERATORS)
            )
        # Replies and read receipts recorded on the sends as ingestion does it (the message rollups were
        # kept by their triggers on every INSERT above), with fresh statistics as autovacuum would have.
        cursor.execute("ANALYZE")
        replies_credit(recipient_ids=list(Recipient.objects.values_list("id", flat=True)))
        reads_record(conversation_ids=list(Conversation.objects.values_list("id", flat=True)))
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load: index-only scans


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the previous run")
    parser.add_argument("--database", default="bench_reports")
    args = parser.parse_args()
    views_setup(database=args.database, fresh=not args.reuse)
    from django.test import Client

    from crm.models import User
    from inbox.models import Conversation, Message, ResponseEvent
    from outreach.models import Send
    from reports import selectors

    started = time.monotonic()
    if not args.reuse:
        fill()
        User.objects.create_user("bench-admin", role=User.Role.ADMIN)
    print(
        f"{Conversation.objects.count():,} conversations, {Message.objects.count():,} messages, "
        f"{ResponseEvent.objects.count():,} events, {Send.objects.count():,} sends "
        f"(filled in {time.monotonic() - started:.0f} s); "
        f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores"
    )
    admin = User.objects.get(username="bench-admin")
    client = Client()
    client.force_login(admin)
    for key in ("7d", "90d"):
        period = selectors.Period.from_query({"range": key})
        calls = {
            **{f"team by {by}": partial(selectors.team_report, user=admin, period=period, by=by)
               for by in selectors.DIMENSIONS},
            "histogram": partial(selectors.response_histogram, user=admin, period=period),
            **{f"funnel by {by}": partial(selectors.funnel, user=admin, period=period, by=by)
               for by in selectors.FUNNEL_DIMENSIONS},
            **{f"page, team by {by}": lambda key=key, by=by: client.get(f"/reports/?range={key}&by={by}")
               for by in selectors.DIMENSIONS},
            "chart fragment": lambda key=key: client.get(f"/reports/chart/?range={key}"),
            **{f"CSV team by {by}":
               lambda key=key, by=by: client.get(f"/reports/csv/team/?range={key}&by={by}")
               for by in selectors.DIMENSIONS},
            "CSV funnel": lambda key=key: client.get(f"/reports/csv/funnel/?range={key}"),
            "CSV histogram": lambda key=key: client.get(f"/reports/csv/histogram/?range={key}"),
        }  # fmt: skip
        load = []
        for name, call in calls.items():
            call()  # warm caches and connections
            median, p95 = timed(call, args.runs)
            load.append(os.getloadavg()[0])
            print(f"{key:4s} {name:22s} median {median:7.1f} ms   p95 {p95:7.1f} ms   load {load[-1]:.1f}")
        print(f"{key}: 1-minute load average {min(load):.1f} to {max(load):.1f} while timing")


if __name__ == "__main__":
    main()
