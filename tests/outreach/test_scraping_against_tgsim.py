from __future__ import annotations

import os
import signal
import time

import pytest

from inbox.models import ContactHash
from outreach import scraping
from outreach.models import AudienceMember, ScrapeJob
from tests.support import outreach as build
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def scraper(tgsim, api_app):
    account, uid = ready_account(tgsim, api_app, first_name="Scraper")
    build.generous_limits(account)
    return account, uid


def group(tgsim, owner, n, *, prefix, hidden=False):
    members = tgsim.world_call("bulk_create_users", n, prefix=prefix) if n else []
    name = f"{prefix}_group"
    tgsim.world_call(
        "create_group",
        title=f"Group {prefix}",
        owner_id=owner,
        members=members,
        megagroup=True,
        hidden_members=hidden,
        username=name,
    )
    return name, set(members)


def job_state(job):
    job.refresh_from_db()
    return job.state if job.state != ScrapeJob.State.RUNNING else None


def test_a_12000_member_group_yields_the_visible_members_and_more_through_the_sweep_across_a_restart(
    tgsim, host_env, api_app, tmp_path
):
    account, uid = scraper(tgsim, api_app)
    owner = tgsim.world_call("bulk_create_users", 1, prefix=f"own{uid}")[0]
    name, members = group(tgsim, owner, 12_000, prefix=f"big{uid}")
    job = scraping.job_create(account=account, target=f"@{name}")
    started = time.monotonic()
    with session_host("scrape-a", log_path=tmp_path / "a.log", env=host_env) as first:
        wait_for(lambda: ScrapeJob.objects.get(pk=job.pk).pages >= 10, timeout=120, what="ten pages")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    pages_at_kill = ScrapeJob.objects.get(pk=job.pk).pages
    with session_host("scrape-b", log_path=tmp_path / "b.log", env=host_env):
        wait_for(lambda: job_state(job), timeout=400, interval=0.5, what="the scrape to end")
    elapsed = time.monotonic() - started
    assert job.state == "done", job.message
    stored = set(
        AudienceMember.objects.filter(audience=job.audience).values_list("contact__telegram_id", flat=True)
    )
    assert stored <= members | {owner}
    assert len(stored) > 10_000, "the sweep found members beyond the visible 10,000"
    assert len(stored) >= 11_500
    assert job.pages > pages_at_kill >= 10
    hashes = ContactHash.objects.filter(account=account, contact__telegram_id__in=list(stored)[:50])
    assert hashes.count() == 50, "each member is stored with the scraping account's own access_hash"
    print(
        f"\nscraped {len(stored)} members in {elapsed:.1f} s ({len(stored) / elapsed:.0f}/s), "
        f"{job.pages} pages"
    )


def test_a_group_with_hidden_members_ends_with_a_clear_message(tgsim, host_env, api_app, tmp_path):
    account, uid = scraper(tgsim, api_app)
    name, _ = group(
        tgsim,
        tgsim.world_call("bulk_create_users", 1, prefix=f"hown{uid}")[0],
        30,
        prefix=f"hid{uid}",
        hidden=True,
    )
    job = scraping.job_create(account=account, target=f"https://t.me/{name}")
    with session_host("hidden", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: job_state(job), timeout=60, what="the scrape to end")
        wait_for(lambda: build.backfilled([account]), timeout=30, what="the inbox backfill")
    assert job.state == "failed"
    assert "hides its member list" in job.message
    assert job.members == 0


def test_a_scrape_pauses_resumes_counts_flood_waits_and_cancels(tgsim, host_env, api_app, tmp_path):
    account, uid = scraper(tgsim, api_app)
    owner = tgsim.world_call("bulk_create_users", 1, prefix=f"pown{uid}")[0]
    name, members = group(tgsim, owner, 1_000, prefix=f"pr{uid}")
    tgsim.fault("inject", "FLOOD_WAIT_1", user_id=uid, method="channels.getParticipants", count=1)
    job = scraping.job_create(account=account, target=name)
    scraping.job_pause(job=job)
    with session_host("pause", log_path=tmp_path / "host.log", env=host_env):
        time.sleep(3)
        job.refresh_from_db()
        assert job.state == "paused" and job.pages == 0
        scraping.job_resume(job=job)
        wait_for(lambda: job_state(job), timeout=60, what="the scrape to end")
        assert job.state == "done", job.message
        assert job.members == len(members) + 1  # and the owner
        assert job.flood_waits == 1

        other = scraping.job_create(account=account, target=name)
        scraping.job_cancel(job=other)
        time.sleep(2)
        wait_for(lambda: build.backfilled([account]), timeout=30, what="the inbox backfill")
    other.refresh_from_db()
    assert other.state == "cancelled" and other.pages == 0


def test_pages_shorter_than_asked_for_still_yield_every_member(tgsim, host_env, api_app, tmp_path):
    account, uid = scraper(tgsim, api_app)
    owner = tgsim.world_call("bulk_create_users", 1, prefix=f"sown{uid}")[0]
    name, members = group(tgsim, owner, 1_000, prefix=f"short{uid}")
    tgsim.fault("participants_page", 100)  # a server that sends 100 per page although 200 were asked for
    job = scraping.job_create(account=account, target=f"@{name}")
    with session_host("short", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: job_state(job), timeout=180, interval=0.5, what="the scrape to end")
        wait_for(lambda: build.backfilled([account]), timeout=30, what="the inbox backfill")
    assert job.state == "done", job.message
    stored = set(
        AudienceMember.objects.filter(audience=job.audience).values_list("contact__telegram_id", flat=True)
    )
    assert stored == members | {owner}
    assert job.members == 1_001
    assert job.pages >= 10, "each page held 100 members"


def test_a_group_that_lists_fewer_members_than_it_reports_ends_incomplete_not_done(
    tgsim, host_env, api_app, tmp_path
):
    account, uid = scraper(tgsim, api_app)
    owner = tgsim.world_call("bulk_create_users", 1, prefix=f"wown{uid}")[0]
    members = tgsim.world_call("bulk_create_users", 300, prefix=f"with{uid}")
    name = f"with{uid}_group"
    chat_id = tgsim.world_call(
        "create_group", title="Withheld", owner_id=owner, members=members, username=name
    )
    tgsim.fault("withhold_participants", chat_id, 50)
    job = scraping.job_create(account=account, target=f"@{name}")
    with session_host("withheld", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: job_state(job), timeout=120, interval=0.5, what="the scrape to end")
        wait_for(lambda: build.backfilled([account]), timeout=30, what="the inbox backfill")
    assert job.state == "incomplete", job.message
    # 300 members, the owner and the scraping account are counted; 50 of them were never listed.
    assert job.message.startswith("Incomplete: 252 of 302 members listed"), job.message
    assert job.finished_at is not None
    assert scraping.job_progress(job).percent < 100


def test_a_stale_page_command_requeues_a_quiet_job_once_and_leaves_a_busy_one_alone(make_account):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Account, Operation

    account = make_account(status=Account.Status.ACTIVE)
    job = scraping.job_create(account=account, target="@somewhere")
    queued = Operation.objects.filter(command="scrape.page").count()
    assert not scraping.job_nudge(job_id=job.pk)  # it just moved: its chain is alive
    ScrapeJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(seconds=30))
    assert scraping.job_nudge(job_id=job.pk)
    assert not scraping.job_nudge(job_id=job.pk)  # the nudge itself counts as movement
    assert Operation.objects.filter(command="scrape.page").count() == queued + 1
    ScrapeJob.objects.filter(pk=job.pk).update(
        state=ScrapeJob.State.PAUSED, updated_at=timezone.now() - timedelta(hours=1)
    )
    assert not scraping.job_nudge(job_id=job.pk)


def test_a_resumed_job_has_one_page_command_that_counts_not_two(make_account):
    """A page command queued before a pause must not run beside the one the resume queues: two pages
    fetched at once through one account fetch the same page twice and hide a flood wait between them."""
    from accounts.models import Account

    account = make_account(status=Account.Status.ACTIVE)
    job = scraping.job_create(account=account, target="@somewhere")
    before_pause = job.step
    scraping.job_pause(job=job)
    scraping.job_resume(job=job)
    job.refresh_from_db()
    assert scraping.cursor_for(job_id=job.pk, account_id=account.pk, step=before_pause) is None
    resumed = scraping.cursor_for(job_id=job.pk, account_id=account.pk, step=job.step)
    assert resumed is not None and resumed.offset == 0
    scraping.job_resume(job=job)  # resuming a running job changes nothing
    job.refresh_from_db()
    assert job.step == resumed.step
