"""Benchmark: server time of the inbox list and conversation views, and of the contacts page, its search
and the contact panel, with 1,000,000 messages in 50,000 conversations (50 accounts).

Run:  .venv/bin/python bench/inbox_views.py [--conversations 50000] [--per 20] [--runs 30]
Uses its own database (switchboard_bench_inbox_views, recreated), filled with set-based SQL, and times
each view in-process through Django's test client (the full middleware stack, templates included) with
DEBUG off. Prints the median and the 95th percentile per view; bench/README.md records the figures.
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

WORDS = [
    "flat",
    "price",
    "viewing",
    "deposit",
    "kitchen",
    "garden",
    "parking",
    "contract",
    "keys",
    "monday",
    "friday",
    "weekend",
    "balcony",
    "furnished",
    "pets",
    "heating",
    "bills",
    "station",
    "school",
    "lease",
    "offer",
    "discount",
    "invoice",
    "delivery",
    "refund",
    "thanks",
]


def fill(conversations: int, per: int, accounts: int) -> None:
    from django.db import connection

    from accounts.devices import choose_device
    from accounts.models import Account
    from accounts.services import api_app_create

    app = api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    Account.objects.bulk_create(
        Account(
            phone=f"99966{n:05d}",
            api_app=app,
            status="active",
            first_name=f"Desk {n}",
            **choose_device(seed=str(n)),
        )
        for n in range(accounts)
    )
    words = "(ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "])"
    size = len(WORDS)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO inbox_contact (telegram_id, username, first_name, last_name, phone, is_bot,
                                       is_deleted, opted_out, created_at, updated_at)
            SELECT 5000000 + g, 'user' || g,
                   (ARRAY['Grace','Alan','Ada','Linus','Margaret','Olena','Jonas','Amara','Mateo','Yuki'])
                     [1 + g %% 10],
                   'No' || g, CASE WHEN g %% 2 = 0 THEN '+49 151 ' || lpad(g::text, 8, '0') ELSE '' END,
                   false, false, false, now(), now()
            FROM generate_series(1, %s) g
            """,
            [conversations],
        )
        cursor.execute(
            """
            INSERT INTO inbox_conversation (account_id, peer_id, kind, contact_id, title, username,
                last_message_at, last_message_preview, unread_count, read_inbox_max_id, read_outbox_max_id,
                state, created_at)
            SELECT (SELECT min(id) FROM accounts_account) + (c.id %% %s), c.telegram_id,
                   CASE WHEN c.id %% 10 = 0 THEN 'group' ELSE 'private' END, c.id,
                   c.first_name || ' ' || c.last_name, c.username,
                   now() - (c.id || ' minutes')::interval, 'last words', (c.id %% 4), 0, 0,
                   CASE WHEN c.id %% 7 = 0 THEN 'closed' ELSE 'open' END, now()
            FROM inbox_contact c
            """,
            [accounts],
        )
        cursor.execute(
            f"""
            INSERT INTO inbox_message (conversation_id, telegram_id, direction, sender_name, text, entities,
                media_kind, media, date, deleted, delivery, failure_reason, created_at)
            SELECT v.id, n, CASE WHEN n %% 3 = 0 THEN 'out' ELSE 'in' END, v.title,
                   {words}[1 + (n * 7 + v.id) %% {size}] || ' ' || {words}[1 + (n * 13 + v.id * 3) %% {size}]
                     || ' ' || {words}[1 + (n + v.id * 11) %% {size}] || ' about the place, number ' || n,
                   '[]', '', '{{}}', v.last_message_at - ((%s - n) || ' minutes')::interval,
                   false, 'sent', '', now()
            FROM inbox_conversation v CROSS JOIN generate_series(1, %s) n
            """,  # noqa: S608 - the word list is a constant
            [per, per],
        )
        cursor.execute(
            f"""
            INSERT INTO inbox_note (conversation_id, text, created_at)
            SELECT v.id, 'Call back about the ' || {words}[1 + v.id % {size}] || ' on ' || v.id, now()
            FROM inbox_conversation v WHERE v.id % 10 = 0
            """  # noqa: S608 - the word list is a constant
        )
        _fill_people(cursor)
        cursor.execute("ANALYZE")


# What the contacts page filters by: two custom fields (a choice on a fifth of the people, a number on a
# tenth), two campaigns that reached half of them (a third of those replied), labels on a tenth of the
# conversations, a few opt-outs.
PEOPLE = [
    """
    INSERT INTO contacts_customfield (name, kind, choices, position, created_at)
    VALUES ('Tier', 'choice', ARRAY['Gold','Silver','Bronze'], 0, now()), ('Budget', 'number', '{}', 1, now())
    """,
    """
    INSERT INTO contacts_fieldvalue (contact_id, field_id, value, updated_at)
    SELECT c.id, f.id, (ARRAY['Gold','Silver','Bronze'])[1 + c.id % 3], now()
    FROM inbox_contact c, contacts_customfield f WHERE f.name = 'Tier' AND c.id % 5 = 0
    UNION ALL
    SELECT c.id, f.id, (c.id * 10)::text, now()
    FROM inbox_contact c, contacts_customfield f WHERE f.name = 'Budget' AND c.id % 10 = 0
    """,
    """
    INSERT INTO outreach_audience (name, require_username, exclude_contacted, exclude_opted_out, created_at)
    VALUES ('bench', false, false, true, now())
    """,
    """
    INSERT INTO outreach_campaign (name, template, media, audience_id, daily_cap, gap_min, gap_max,
        window_start, window_end, timezone, stop_on_reply, allow_recontact, state, created_at)
    SELECT 'Campaign ' || g, 'Hi there', '', (SELECT min(id) FROM outreach_audience), 20, 60, 300,
           '09:00', '18:00', 'UTC', true, false, 'running', now()
    FROM generate_series(1, 2) g
    """,
    """
    INSERT INTO outreach_recipient (campaign_id, contact_id, account_id, state, step, first_sent_at,
        first_message_id, last_sent_at, replied_at, reason)
    SELECT (SELECT min(id) FROM outreach_campaign) + (c.id % 2), c.contact_id, c.account_id,
           CASE WHEN c.id % 3 = 0 THEN 'replied' ELSE 'contacted' END, 0, now() - interval '2 days', 1,
           now() - interval '2 days', CASE WHEN c.id % 3 = 0 THEN now() - interval '1 day' END, ''
    FROM inbox_conversation c WHERE c.id % 2 = 0
    """,
    "INSERT INTO inbox_label (name, color) VALUES ('VIP', '#aa0000'), ('Lead', '#00aa00')",
    """
    INSERT INTO inbox_conversation_labels (conversation_id, label_id)
    SELECT c.id, (SELECT min(id) FROM inbox_label) + (c.id % 2) FROM inbox_conversation c WHERE c.id % 10 = 0
    """,
    "UPDATE inbox_contact SET opted_out = true WHERE id % 50 = 0",
]


def _fill_people(cursor) -> None:
    for statement in PEOPLE:
        cursor.execute(statement)


def _person_of_three_accounts() -> int:
    """The busiest conversation's person also wrote to two other accounts (their conversations move to
    them), as a person the panel must gather from several accounts."""
    from inbox.models import Conversation

    busiest = Conversation.objects.order_by("-last_message_at").first()
    assert busiest is not None
    others = Conversation.objects.exclude(account=busiest.account).order_by("-last_message_at")[:2]
    Conversation.objects.filter(pk__in=[c.pk for c in others]).update(contact=busiest.contact_id)
    assert busiest.contact_id is not None
    return busiest.contact_id


def _status(client, url: str, statuses: list[int]) -> None:
    url, _, target = url.partition("#")  # "#target": the htmx fragment the page asks for there
    headers = {"HX-Request": "true", "HX-Target": target} if target else {}
    response = client.get(url, headers=headers)
    if response.streaming:  # the CSV export: the time is that of the whole file
        assert b"".join(response.streaming_content).count(b"\n") > 1
    statuses.append(response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--per", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the previous run")
    parser.add_argument("--database", default="switchboard_bench_inbox_views")
    parser.add_argument("--only", default="", help="time only the views whose name contains this")
    args = parser.parse_args()

    views_setup(database=args.database, fresh=not args.reuse)
    from django.test import Client

    from accounts.models import Account
    from crm.models import User
    from inbox.models import Conversation, Label, Message

    started = time.monotonic()
    if not args.reuse:
        fill(args.conversations, args.per, args.accounts)
        User.objects.create_user("bench-admin", role=User.Role.ADMIN)
        operator = User.objects.create_user("bench-operator", role=User.Role.OPERATOR)
        for account in Account.objects.order_by("id")[:10]:
            account.operators.add(operator)
    print(
        f"filled {Conversation.objects.count():,} conversations, {Message.objects.count():,} messages "
        f"in {time.monotonic() - started:.0f} s; python {sys.version.split()[0]}; {os.cpu_count()} cores"
    )
    admin = User.objects.get(username="bench-admin")
    operator = User.objects.get(username="bench-operator")
    busiest = Conversation.objects.order_by("-last_message_at").first()
    deep = Conversation.objects.order_by("last_message_at").first()
    granted = Conversation.objects.filter(account__operators=operator).order_by("-last_message_at").first()
    person = _person_of_three_accounts()
    assert granted is not None and granted.contact_id is not None
    from contacts.models import CustomField

    tier = CustomField.objects.get(name="Tier")
    label = Label.objects.order_by("id").first().pk  # type: ignore[union-attr]

    for who, user, conversation in (("admin", admin, busiest), ("operator", operator, granted)):
        client = Client()
        client.force_login(user)
        views = {
            "list": "/inbox/",
            "list, unread only": "/inbox/?unread=1",
            "list, page 20": "/inbox/?page=20",
            "list, search (no match)": "/inbox/?q=zebra",
            "list, search (word in 1.7% of messages)": "/inbox/?q=refund+invoice",
            "list, search (word in 10% of messages)": "/inbox/?q=balcony",
            "search, a name's beginning (10% of people)": "/inbox/?q=gra",
            "search, first and last name": "/inbox/?q=grace+no1230",
            "search, @username": "/inbox/?q=user4242",
            "search, phone digits": "/inbox/?q=151+0000+4242",
            "search, a note's word": "/inbox/?q=call+back",
            "conversation": f"/inbox/c/{conversation.pk}/",
            "conversation (oldest)": f"/inbox/c/{deep.pk}/",
            "live poll": "/inbox/poll/?v=-1",
            "contacts page": "/contacts/",
            "contacts, page 50": "/contacts/?page=50",
            "contacts, search a name (10%)": "/contacts/?q=gra",
            "contacts, search name + last name": "/contacts/?q=grace+no1230",
            "contacts, search phone digits": "/contacts/?q=151+0000+4242",
            "contacts, search (no match)": "/contacts/?q=zebra",
            "contacts, replied to a campaign": "/contacts/?replied=1",
            "contacts, label + account": f"/contacts/?label={label}&account={granted.account_id}",
            "contacts, field Tier = Gold": f"/contacts/?field={tier.pk}&value=Gold",
            "contacts, opted out": "/contacts/?opted_out=yes",
            "contact panel": f"/contacts/{person if who == 'admin' else granted.contact_id}/panel/",
            "contact page": f"/contacts/{person if who == 'admin' else granted.contact_id}/",
            "contacts CSV, Tier = Gold": f"/contacts/export.csv?field={tier.pk}&value=Gold",
            "contacts CSV, everyone": "/contacts/export.csv",
            # Five saved views' live counts (each counted to 1,000 at most), as the page refreshes them.
            "saved views' counts (5 views)": "/inbox/#saved-views",
            "select all in this view: the count": "/inbox/?state=all#bulk-all",
        }
        if who == "operator":
            views.pop("conversation (oldest)")
        if name_filter := args.only:
            views = {k: v for k, v in views.items() if name_filter in k}
        for name, url in views.items():
            statuses: list[int] = []
            if name.startswith("saved views"):
                _saved_views(user, label)  # only here: the page's other rows are timed without them
            get = partial(_status, client, url, statuses)
            timed(get, 1 if "CSV" in name else 3)  # warm caches and connections
            median, p95 = timed(get, 5 if "CSV" in name else args.runs)
            status = statuses[-1]
            assert status == 200, (name, url, status)
            print(f"{who:8s} {name:36s} median {median:6.1f} ms   p95 {p95:6.1f} ms   (HTTP {status})")
            user.saved_views.all().delete()
    # Last: it changes which conversations are closed (the reopen takes the newest closed ones).
    if not args.only or args.only in "bulk close and reopen":
        for who, user in (("admin", admin), ("operator", operator)):
            client = Client()
            client.force_login(user)
            _bulk_timed(client, who, runs=3)


def _saved_views(user, label: int) -> None:
    from inbox.models import SavedView

    queries = ["unread=1", "who=mine", f"label={label}", "state=closed", "q=refund"]
    for n, query in enumerate(queries):
        SavedView.objects.get_or_create(owner=user, name=f"bench {n}", defaults={"query": query})


def _bulk_timed(client, who: str, *, runs: int) -> None:
    """ "Select all in this view" then Close, as the page posts it: the newest VIEW_BATCH open
    conversations closed, then Reopen on the closed view to undo it."""
    from inbox.bulk import VIEW_BATCH

    samples: dict[str, list[float]] = {"close": [], "reopen": []}
    views = {"close": "", "reopen": "state=closed"}
    for _ in range(runs):
        for action in samples:
            data = {"all": "1", "view": views[action], "action": action}
            started = time.perf_counter()
            response = client.post("/inbox/bulk/", data, headers={"HX-Request": "true"})
            samples[action].append((time.perf_counter() - started) * 1000)
            assert f"{VIEW_BATCH} {action}" in response.content.decode(), response.content[:300]
    for action, times in samples.items():
        median = sorted(times)[len(times) // 2]
        print(f"{who:8s} bulk {action} of {VIEW_BATCH} (select all): median {median:.0f} ms ({runs} runs)")


if __name__ == "__main__":
    main()
