"""Scraping a group's members into an audience: a chain of one-page commands with the cursor in the job row.

Each command fetches one page (up to 200 members of the recent list, or of one search query), stores it and
advances the cursor in one transaction that also queues the next command. A command carries the cursor
number (``ScrapeJob.step``) it was queued for; a stale or duplicate one changes nothing. The watchdog
re-queues a running job whose chain went quiet (its worker died between commit and publish), so restarts
resume from the cursor.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from accounts.telegram.records import PAGE, Group, GroupInfo, UserInfo
from crm.text import without_nul
from inbox.services import contacts_store
from outreach import commands, signals
from outreach.models import Audience, AudienceMember, ScrapeJob

State = ScrapeJob.State
# A job in one of these states has ended (outreach.signals.scrape_finished).
ENDED = (State.DONE, State.INCOMPLETE, State.FAILED)
# Telegram lists at most this many members of one filter by offset; the search sweep finds the rest.
VISIBLE_CAP = 10_000
SWEEP = list(string.ascii_lowercase + string.digits)
# Common first-name starts catch people whose names are not in Latin script or start with symbols.
NAME_PREFIXES = ["al", "an", "ma", "mi", "jo", "da", "sa", "ka", "el", "le", "ch", "ro"]
EXPAND = string.ascii_lowercase + string.digits + "_"


class ScrapeError(ValueError):
    pass


def job_create(
    *, account: Account, target: str, audience: Audience | None = None, by: Any = None
) -> ScrapeJob:
    """Start collecting ``target``'s members through ``account`` into ``audience`` (a new one by default)."""
    target = target.strip()
    if not target:
        raise ScrapeError("Enter a group's @username or link")
    if account.status not in (Account.Status.ACTIVE, Account.Status.COOLDOWN):
        raise ScrapeError(f"{account.display_name} is {account.get_status_display().lower()}")
    with transaction.atomic():
        if audience is None:
            name = f"Members of {target} ({timezone.now():%Y-%m-%d %H:%M:%S})"
            audience = Audience.objects.create(name=name)
        job = ScrapeJob.objects.create(account=account, target=target, audience=audience)
        _queue(job)
    return job


def _queue(job: ScrapeJob) -> None:
    commands.scrape_page.queue(job.account_id, job_id=job.pk, step=job.step)


def job_pause(*, job: ScrapeJob) -> None:
    ScrapeJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
        state=State.PAUSED, updated_at=timezone.now()
    )


def job_resume(*, job: ScrapeJob) -> None:
    """Run a paused job again. The resumed job moves to the next step number, so the page command it
    queues is the only one that counts: one queued before the pause finds itself stale and stops,
    instead of fetching the same page beside it."""
    with transaction.atomic():
        if ScrapeJob.objects.filter(pk=job.pk, state=State.PAUSED).update(
            state=State.RUNNING, step=F("step") + 1, updated_at=timezone.now()
        ):
            job.refresh_from_db()
            _queue(job)


def job_cancel(*, job: ScrapeJob) -> None:
    ScrapeJob.objects.filter(pk=job.pk, state__in=(State.RUNNING, State.PAUSED)).update(
        state=State.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now(), message="Cancelled"
    )


def jobs_revive(*, quiet_for: timedelta = timedelta(minutes=2)) -> int:
    """Re-queue running jobs whose chain stopped (a command lost between commit and publish)."""
    quiet = ScrapeJob.objects.filter(state=State.RUNNING, updated_at__lt=timezone.now() - quiet_for)
    return sum(job_nudge(job_id=job_id, quiet_for=quiet_for) for job_id in quiet.values_list("pk", flat=True))


# A page takes a fraction of a second: a running job quiet for this long has lost its next command.
NUDGE_AFTER = timedelta(seconds=5)


def job_nudge(*, job_id: int, quiet_for: timedelta = NUDGE_AFTER) -> bool:
    """Queue the job's current page again if the job is running but quiet. A stale page command calls
    this: when a host dies between committing a page and publishing the next command, the redelivered
    old command is what finds the job, without waiting for the watchdog. A duplicate changes nothing
    (its cursor number is stale by the time it runs). Returns whether it queued."""
    with transaction.atomic():
        now = timezone.now()
        job = (
            ScrapeJob.objects.select_for_update()
            .filter(pk=job_id, state=State.RUNNING, updated_at__lt=now - quiet_for)
            .first()
        )
        if job is None:
            return False
        ScrapeJob.objects.filter(pk=job.pk).update(updated_at=now)
        _queue(job)
    return True


@dataclass(frozen=True)
class Cursor:
    job_id: int
    step: int
    target: str
    channel_id: int | None
    channel_hash: int | None
    query: str | None  # None: the recent list
    offset: int


def cursor_for(*, job_id: int, account_id: int, step: int) -> Cursor | None:
    """Where the job stands, if this command is the one it waits for (else None: stale or stopped)."""
    job = ScrapeJob.objects.filter(pk=job_id, account_id=account_id, state=State.RUNNING, step=step).first()
    if job is None:
        return None
    query = job.queries[job.query_index] if job.phase == "search" else None
    return Cursor(job.pk, job.step, job.target, job.channel_id, job.channel_hash, query, job.offset)


def job_located(*, job_id: int, group: Group, info: GroupInfo) -> None:
    ScrapeJob.objects.filter(pk=job_id).update(
        channel_id=group.channel_id,
        channel_hash=group.access_hash,
        title=without_nul(group.title)[:255],
        total=info.members,
        updated_at=timezone.now(),
    )


def job_finish(*, job_id: int, state: str, message: str) -> None:
    with transaction.atomic():
        finished = ScrapeJob.objects.filter(pk=job_id, state=State.RUNNING).update(
            state=state, message=message[:255], finished_at=timezone.now(), updated_at=timezone.now()
        )
        if finished and state in ENDED:
            signals.scrape_finished.send(sender=ScrapeJob, job_id=job_id, state=state)


def flood_wait_noted(*, job_id: int) -> None:
    ScrapeJob.objects.filter(pk=job_id).update(flood_waits=F("flood_waits") + 1, updated_at=timezone.now())


def page_store(
    *, job_id: int, account_id: int, step: int, count: int, listed: int, people: list[UserInfo]
) -> bool:
    """Store one page (``listed`` participants, ``people`` the users among them) and move the cursor;
    queue the next page. Returns whether the job goes on."""
    with transaction.atomic():
        job = ScrapeJob.objects.select_for_update().filter(pk=job_id, state=State.RUNNING, step=step).first()
        if job is None:
            return False  # a duplicate of a page already stored, or the job was paused or cancelled
        me = Account.objects.filter(pk=account_id).values_list("telegram_id", flat=True).first()
        store_people(
            account_id=account_id,
            audience_id=job.audience_id,
            job_id=job.pk,
            people=[p for p in people if p.telegram_id != me],
        )
        job.pages += 1
        job.members = AudienceMember.objects.filter(audience_id=job.audience_id).count()
        _advance(job, count=count, got=listed)
        job.step += 1
        job.updated_at = timezone.now()
        if job.state == State.RUNNING:
            _queue(job)
        job.save()
        if job.state in ENDED:
            signals.scrape_finished.send(sender=ScrapeJob, job_id=job.pk, state=job.state)
        return job.state == State.RUNNING


def _advance(job: ScrapeJob, *, count: int, got: int) -> None:
    """Move the cursor past this page. The offset moves by what the page held, never by the size asked
    for: a server may answer with shorter pages (Telegram allows up to 200, others send 100)."""
    reachable = min(count, VISIBLE_CAP)
    if job.phase == "recent":
        job.total = max(job.total, count)
        job.offset += got
        if got and job.offset < reachable:
            return
        if count <= VISIBLE_CAP:
            _list_ended(job, listed=job.offset, count=count)
            return
        if job.members + 1 >= count:  # + 1: the scraping account itself
            _done(job, f"Collected {job.members} members")
            return
        job.phase, job.offset, job.queries, job.query_index = "search", 0, SWEEP + NAME_PREFIXES, 0
        return
    query = job.queries[job.query_index]
    if job.offset == 0 and count > VISIBLE_CAP and len(query) < 6:
        # Even this query is capped: sweep its longer prefixes instead of paging its visible part.
        job.queries = [*job.queries, *(query + char for char in EXPAND)]
        got = 0
    job.offset += got
    if got and job.offset < reachable:
        return
    job.query_index += 1
    job.offset = 0
    if job.query_index >= len(job.queries) or job.members + 1 >= job.total:
        _done(
            job, f"Collected {job.members} of {job.total} members (search sweep of {job.query_index} queries)"
        )


def _list_ended(job: ScrapeJob, *, listed: int, count: int) -> None:
    """The whole list was within reach: done only if Telegram listed as many members as it reports."""
    if listed >= count:
        _done(job, f"Collected {job.members} members")
        return
    job.state, job.finished_at = State.INCOMPLETE, timezone.now()
    job.message = (
        f"Incomplete: {listed} of {count} members listed; Telegram did not show the rest "
        f"({job.members} collected)"
    )


def _done(job: ScrapeJob, message: str) -> None:
    job.state, job.message, job.finished_at = State.DONE, message, timezone.now()


def store_people(*, account_id: int, audience_id: int, job_id: int, people: list[UserInfo]) -> None:
    """Upsert contacts, this account's own access_hash for each, and their audience membership."""
    if not people:
        return
    now = timezone.now()
    unique = {p.telegram_id: p for p in without_nul(people)}
    ids = contacts_store(account_id=account_id, users=list(unique.values()))
    AudienceMember.objects.bulk_create(
        [
            AudienceMember(
                audience_id=audience_id,
                contact_id=ids[p.telegram_id],
                source=f"scrape:{job_id}",
                added_at=now,
            )
            for p in unique.values()
            if not p.is_deleted and not p.is_bot
        ],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Progress:
    pages: int
    members: int
    total: int
    flood_waits: int
    percent: int
    eta_seconds: int | None


def job_progress(job: ScrapeJob) -> Progress:
    """Pages, members and an ETA from the pace so far (the search sweep's size is an estimate)."""
    elapsed = max(1.0, ((job.finished_at or timezone.now()) - job.started_at).total_seconds())
    if job.phase == "recent":
        remaining = max(0, math.ceil(min(job.total, VISIBLE_CAP) / PAGE) - job.pages)
        if job.total > VISIBLE_CAP:
            remaining += len(SWEEP + NAME_PREFIXES) * 3
    else:
        remaining = max(0, len(job.queries) - job.query_index) * 3
    percent = (
        100 if job.state == State.DONE else min(99, int(100 * job.members / job.total)) if job.total else 0
    )
    eta = None if job.state != State.RUNNING or not job.pages else int(remaining * elapsed / job.pages)
    return Progress(job.pages, job.members, job.total, job.flood_waits, percent, eta)
