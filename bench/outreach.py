"""Benchmark: outreach scraping throughput and campaign planning at scale.

Run:  DEBUG=1 .venv/bin/python bench/outreach.py [--members 12000] [--recipients 100000] [--accounts 500]
      [--skip-scrape] [--database switchboard_bench_outreach]

Uses its own database (switchboard_bench_outreach, recreated).
- scrape: tgsim in a thread of this process, one real session-host worker process, one account scraping
  a public group of ``--members`` members (page chain through RabbitMQ, the recent list then the search
  sweep past Telegram's 10,000 cap); members stored per second, from job start to job end.
- plan: ``--recipients`` contacts across ``--accounts`` senders (40 % reachable only by username, the rest
  through a hash one sender holds), a per-sender cap of 150 a day and per-account budgets from warm-up
  plans; times the audience snapshot (campaign_start) and the planning ticks of two days, then checks
  every cap and budget exactly; after each tick, times ``outreach.explain.campaign_explain`` (what the
  campaign page shows every 2 s).
Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from datetime import UTC, datetime, timedelta

from support import ROOT, setup, start_host, wait


def bench_scrape(members: int) -> None:
    from accounts import services
    from outreach import scraping
    from outreach.models import AudienceMember, ScrapeJob, WarmupPlan
    from tests.support.accounts import ready_account
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    app = services.api_app_create(name="bench", api_id=2, api_hash="cd" * 16)
    account, uid = ready_account(sim, app, first_name="Scraper")
    generous = {"scrape_page": 100_000, "join": 100}
    WarmupPlan.objects.create(account=account, days=1, start_limits=generous, target_limits=generous)
    ids = sim.world_call("bulk_create_users", members, prefix=f"bench{uid}")
    sim.world_call(
        "create_group", title="Bench group", owner_id=ids[0], members=ids[1:], username=f"bench{uid}_g"
    )
    host = start_host("outreach", {**sim.env(), "SESSION_HOST_CAPACITY": "10"}, logs / "outreach-host.log")
    try:
        from accounts.models import Account

        wait(lambda: Account.objects.filter(pk=account.pk, telegram_id__isnull=False).exists(), timeout=60)
        job = scraping.job_create(account=account, target=f"@bench{uid}_g")
        took = wait(lambda: ScrapeJob.objects.get(pk=job.pk).state != "running", timeout=900, interval=0.1)
        job.refresh_from_db()
        stored = AudienceMember.objects.filter(audience=job.audience).count()
        print(
            f"scrape: {stored} of {members} members stored in {took:.1f} s = {stored / took:.0f} members/s; "
            f"{job.pages} pages ({job.pages / took:.1f} pages/s), {job.flood_waits} flood waits; "
            f"{job.message}"
        )
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(120)
        sim.stop()


def bench_plan(recipients: int, accounts: int, cap: int) -> None:
    from django.db import connection
    from django.db.models import Count, Q

    from accounts.models import Account, ApiApp
    from inbox.models import Contact, ContactHash
    from outreach import explain, planner, services
    from outreach.models import Audience, AudienceMember, Send, WarmupPlan

    app = ApiApp.objects.create(name="plan bench", api_id=3, api_hash_sealed=b"")
    senders = Account.objects.bulk_create(
        [Account(phone=f"4470{n:08d}", api_app=app, status="active", device_model="bench", system_version="1",
                 app_version="1") for n in range(accounts)]
    )  # fmt: skip
    rng = random.Random(1)
    limits = {}
    plans = []
    for account in senders:
        # A fleet at different warm-up stages: many below the campaign cap.
        new_dm = rng.choice([cap // 3, cap // 2, cap, cap, cap * 2])
        limits[account.pk] = {"new_dm": new_dm, "resolve_username": 60}
        plans.append(WarmupPlan(account=account, days=1, start_limits=limits[account.pk],
                                target_limits=limits[account.pk]))  # fmt: skip
    WarmupPlan.objects.bulk_create(plans)
    contacts = Contact.objects.bulk_create(
        [
            Contact(telegram_id=5_000_000_000 + n, username=f"lead{n}", first_name=f"Lead{n}")
            for n in range(recipients)
        ],
        batch_size=10_000,
    )
    hashed = [c for c in contacts if rng.random() < 0.6]
    ContactHash.objects.bulk_create(
        [ContactHash(contact=c, account=rng.choice(senders), access_hash=c.telegram_id) for c in hashed],
        batch_size=10_000,
    )
    audience = Audience.objects.create(name="Bench audience")
    AudienceMember.objects.bulk_create(
        [AudienceMember(audience=audience, contact=c) for c in contacts], batch_size=10_000
    )
    campaign = services.campaign_create(
        name="Bench", template="{Hi|Hello|Hey} {{first_name|there}}, {quick question|a short note}",
        audience=audience, senders=senders, daily_cap=cap, gap_min=20, gap_max=40,
        window_start=datetime.min.time(), window_end=datetime.min.time(), timezone="UTC",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    added = services.campaign_start(campaign=campaign)
    snapshot = time.perf_counter() - started
    print(f"plan: snapshot of {added} recipients (campaign_start) in {snapshot:.2f} s")
    day = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    for n in range(2):
        now = day + timedelta(days=n)
        if n:
            deliver_everything(campaign, at=now - timedelta(hours=1))
        started = time.perf_counter()
        report = planner.campaign_tick(campaign_id=campaign.pk, now=now)
        took = time.perf_counter() - started
        print(
            f"plan: day {n + 1} tick planned {report.planned} sends across {accounts} senders "
            f"in {took:.2f} s "
            f"({report.planned / took:.0f} sends/s), queued {len(report.queued)} due at once"
        )
        started = time.perf_counter()
        found = explain.campaign_explain(campaign=campaign, now=now + timedelta(minutes=1))
        took = time.perf_counter() - started
        print(
            f"plan: day {n + 1} campaign_explain (the page's 'why') in {took * 1000:.0f} ms: "
            f"{found.codes or 'sending'}, {found.remaining} to go, finish about {found.finish_at}"
        )
    per_day = (
        Send.objects.filter(campaign=campaign)
        .values("account_id", "day")
        .annotate(n=Count("id"), resolves=Count("id", filter=Q(resolves=True)))
    )
    over_cap = [r for r in per_day if r["n"] > cap]
    over_dm = [r for r in per_day if r["n"] > limits[r["account_id"]]["new_dm"]]
    over_resolve = [r for r in per_day if r["resolves"] > limits[r["account_id"]]["resolve_username"]]
    at_limit = sum(1 for r in per_day if r["n"] == min(cap, limits[r["account_id"]]["new_dm"]))
    twice = Send.objects.values("recipient_id", "step").annotate(n=Count("id")).filter(n__gt=1).count()
    print(
        f"plan: {Send.objects.count()} sends over {len(per_day)} sender-days; over cap {len(over_cap)}, "
        f"over new-DM budget {len(over_dm)}, over resolve budget {len(over_resolve)}, "
        f"people planned twice {twice}; "
        f"{at_limit} sender-days filled exactly to min(cap, budget)"
    )


def deliver_everything(campaign, *, at: datetime) -> None:
    """Pretend the day's sends all left (the bench has no session hosts), so day 2 plans the rest."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE outreach_send SET state = 'sent', sent_at = %s WHERE campaign_id = %s", [at, campaign.pk]
        )
        cursor.execute(
            "UPDATE outreach_recipient SET state = 'done', step = 0, first_sent_at = %s, last_sent_at = %s "
            "WHERE campaign_id = %s AND account_id IS NOT NULL",
            [at, at, campaign.pk],
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=12_000)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--cap", type=int, default=150)
    parser.add_argument("--skip-scrape", action="store_true")
    parser.add_argument("--database", default="switchboard_bench_outreach")
    args = parser.parse_args()

    setup(database=args.database, queue_prefix="benchoutreach")
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores")
    if not args.skip_scrape:
        bench_scrape(args.members)
    bench_plan(args.recipients, args.accounts, args.cap)


if __name__ == "__main__":
    main()
