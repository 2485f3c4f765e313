"""Why a campaign sends nothing right now, when it will next send and when it should finish.

Built from the planner's own checks (``planner.sender_pool``, ``window_for``, ``senders_today``,
``Sender.fits``, ``unreachable_contacts``), so what the campaign page says cannot disagree with what the
tick does.
Everything is computed for a given ``now``: tests freeze time by passing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from accounts.models import Account
from inbox.models import Contact
from outreach import planner
from outreach.limits import daily_limits
from outreach.models import Campaign, Recipient, Send
from outreach.selectors import audience_contacts

OPEN = (Send.State.PLANNED, Send.State.QUEUED, Send.State.SENDING)
# Reasons after which nothing can be sent until a person acts: no next send time to show.
STUCK = frozenset({"paused", "audience_empty", "opted_out", "no_senders"})


@dataclass(frozen=True)
class Reason:
    """One thing that holds the campaign back. ``code`` is stable (tests, API); ``text`` is for people."""

    code: str
    text: str


@dataclass
class Explanation:
    # Why nothing goes out now; empty while the campaign sends.
    reasons: list[Reason] = field(default_factory=list)
    # What holds back part of it without stopping it (one banned sender of three, people nobody reaches).
    notes: list[Reason] = field(default_factory=list)
    next_send_at: datetime | None = None
    finish_at: datetime | None = None  # an estimate from the remaining sends, caps and windows
    remaining: int = 0  # messages still to send: first messages and follow-ups
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    @property
    def sending(self) -> bool:
        return not self.reasons


@dataclass
class _Work:
    """What is left of a started campaign, counted once."""

    recipients: int = 0
    opted_out: int = 0
    unreachable: int = 0  # waiting people no sender of the pool can address (skipped on the next tick)
    firsts: int = 0  # first messages still to send to reachable people, planned or not
    unplanned: int = 0  # of those, not planned yet
    follow_ups: int = 0  # follow-ups still to send (an estimate: replies may stop some)
    follow_ups_due: int = 0  # follow-ups whose wait is over, not planned yet
    follow_ups_later: int = 0  # follow-ups still inside their wait
    next_follow_up: datetime | None = None
    open_sends: int = 0  # planned, queued or being sent
    planned_first: datetime | None = None  # the earliest planned or queued send of a usable sender
    planned_last: datetime | None = None

    @classmethod
    def of(cls, campaign: Campaign, pool: planner.Pool, now: datetime) -> _Work:
        work = cls()
        recipients = Recipient.objects.filter(campaign=campaign)
        waiting, unplanned = Q(state=Recipient.State.WAITING), Q(state=Recipient.State.WAITING, account=None)
        counts = recipients.aggregate(
            total=Count("id"),
            opted_out=Count("id", filter=Q(state=Recipient.State.SKIPPED, reason="Opted out")),
            waiting=Count("id", filter=waiting),
            unplanned=Count("id", filter=unplanned),
        )
        people = Contact.objects.filter(id__in=recipients.filter(unplanned).values("contact_id"))
        work.recipients, work.opted_out = counts["total"], counts["opted_out"]
        work.unreachable = planner.unreachable_contacts(people, list(pool.statuses)).count()
        work.unplanned = counts["unplanned"] - work.unreachable
        work.firsts = counts["waiting"] - work.unreachable
        usable = Q(account_id__in=pool.usable) & ~Q(state=Send.State.SENDING)
        sends = Send.objects.filter(campaign=campaign, state__in=OPEN).aggregate(
            n=Count("id"), first=Min("due_at", filter=usable), last=Max("due_at", filter=usable)
        )
        work.open_sends, work.planned_first, work.planned_last = sends["n"], sends["first"], sends["last"]
        work.count_follow_ups(campaign, now)
        return work

    def count_follow_ups(self, campaign: Campaign, now: datetime) -> None:
        steps = list(campaign.follow_ups.all())
        if not steps:
            return
        states = [Recipient.State.CONTACTED] + ([] if campaign.stop_on_reply else [Recipient.State.REPLIED])
        written = Recipient.objects.filter(campaign=campaign, state__in=states)
        last = steps[-1].position
        behind = written.filter(step__lt=last).values("step").annotate(n=Count("id"))
        self.follow_ups = sum(n * (last - step) for step, n in behind.values_list("step", "n"))
        self.follow_ups += self.firsts * len(steps)  # people still waiting get every step later
        for step in steps:
            ready = written.filter(step=step.position - 1).exclude(sends__step=step.position)
            self.follow_ups_due += ready.filter(last_sent_at__lte=now - step.after).count()
            later = ready.filter(last_sent_at__gt=now - step.after)
            self.follow_ups_later += later.count()
            first = later.aggregate(at=Min("last_sent_at"))["at"]
            if first is not None:
                at = first + step.after
                self.next_follow_up = at if self.next_follow_up is None else min(self.next_follow_up, at)


def campaign_explain(*, campaign: Campaign, now: datetime | None = None) -> Explanation:
    """The campaign's state in words: the reasons nothing is sent (every one that applies, most basic
    first), what holds back part of it, the next send and the estimated finish."""
    now = now or timezone.now()
    found = Explanation(zone=ZoneInfo(campaign.timezone))
    if campaign.state == Campaign.State.ARCHIVED:
        when = _at(campaign.archived_at or now, found.zone, now)
        found.reasons.append(Reason("archived", f"Archived ({when}): nothing more is sent."))
        return found
    if campaign.state == Campaign.State.FINISHED:
        when = _at(campaign.finished_at or now, found.zone, now)
        found.reasons.append(Reason("finished", f"Finished ({when}): everyone reachable was written to."))
        _note_unreachable(campaign, found)
        return found
    pool = planner.sender_pool(campaign, now)
    if campaign.state == Campaign.State.DRAFT:
        return _draft(campaign, pool, now, found)

    work = _Work.of(campaign, pool, now)
    found.remaining = work.firsts + work.follow_ups
    if campaign.state == Campaign.State.PAUSED:
        found.reasons.append(Reason("paused", "Paused: nothing is sent until you resume it."))
    if work.recipients == 0:
        found.reasons.append(
            Reason("audience_empty", "Nobody to write to: the audience was empty when the campaign started.")
        )
    elif work.opted_out == work.recipients:
        found.reasons.append(Reason("opted_out", f"All {work.opted_out} people in the audience opted out."))
    sendable = _senders(campaign, pool, now, found)
    _note_unreachable(campaign, found, waiting=work.unreachable)
    if not found.reasons and work.firsts == 0 and work.open_sends == 0 and work.follow_ups_due == 0:
        return _nothing_left_now(campaign, work, found, now)

    window = planner.window_for(campaign, now)
    if not window.is_open(now):
        opening = _at(planner.next_opening(campaign, now), found.zone, now)
        found.reasons.append(
            Reason("window", f"Outside the send window ({_window(campaign)}): next send {opening}.")
        )
    senders = planner.senders_today(campaign, sendable, window, now) if sendable else {}
    if senders and work.planned_first is None:
        _caps(campaign, senders, work, found, now)
    found.next_send_at = _next_send(campaign, found, work, now, pool)
    if senders:
        found.finish_at = _finish(campaign, senders, work, now)
    return found


def _draft(campaign: Campaign, pool: planner.Pool, now: datetime, found: Explanation) -> Explanation:
    found.reasons.append(Reason("draft", "Draft: not started yet. Nothing is planned until you start it."))
    contacts = audience_contacts(audience=campaign.audience)
    people = contacts.count()
    if people == 0:
        found.reasons.append(
            Reason(
                "audience_empty", "The audience is empty (or its filters leave nobody): nobody to write to."
            )
        )
    _senders(campaign, pool, now, found)
    if people:
        nobody = planner.unreachable_contacts(contacts, list(pool.statuses)).count()
        if nobody:
            found.notes.append(Reason("unreachable", _unreachable_text(nobody)))
    return found


def _nothing_left_now(campaign: Campaign, work: _Work, found: Explanation, now: datetime) -> Explanation:
    """No first message to send and nothing planned: follow-ups wait for their day, or it is over."""
    if work.follow_ups_later:
        at = planner.next_opening(campaign, max(now, work.next_follow_up or now))
        found.reasons.append(
            Reason(
                "follow_ups",
                f"Every first message is sent; {_n(work.follow_ups_later, 'follow-up')} wait for their "
                f"day, the next {_at(at, found.zone, now)}.",
            )
        )
        found.next_send_at = at
        found.finish_at = _finish_follow_ups(campaign, now)
    elif work.unreachable:
        found.reasons.append(Reason("unreachable", _unreachable_text(work.unreachable)))
    else:
        found.reasons.append(Reason("done", "Everything is sent: the campaign finishes on its next tick."))
    return found


def _senders(campaign: Campaign, pool: planner.Pool, now: datetime, found: Explanation) -> list[int]:
    """The senders that may send now; a reason when none may, a note when only some may."""
    if not pool.statuses:
        found.reasons.append(
            Reason("no_senders", "No sending account is chosen: edit the campaign to add one.")
        )
        return []
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=list(pool.statuses))}
    cooling = [a for a in pool.usable if (accounts[a].cooldown_until or now) > now]
    sendable = [a for a in pool.usable if a not in cooling]
    groups: list[str] = []
    if cooling:
        until = max(accounts[a].cooldown_until or now for a in cooling)
        groups.append(f"{_n(len(cooling), 'sender')} cooling down until {_at(until, found.zone, now)}")
    for status, label in (
        (Account.Status.SPAM_LIMITED, "spam-limited"),
        (Account.Status.BANNED, "banned"),
        (Account.Status.REAUTH_REQUIRED, "logged out (re-login required)"),
        (Account.Status.DISABLED, "disabled"),
    ):
        n = sum(1 for s in pool.statuses.values() if s == status)
        if n:
            groups.append(f"{n} {label}")
    held = [a for a in pool.paused - pool.gone if pool.statuses[a] != Account.Status.SPAM_LIMITED]
    if held:
        until = max(accounts[a].outreach_paused_until or now for a in held)
        groups.append(f"{_n(len(held), 'sender')} with outreach paused until {_at(until, found.zone, now)}")
    known = (*planner.AVAILABLE, *planner.GONE, Account.Status.SPAM_LIMITED)
    unready = sum(1 for s in pool.statuses.values() if s not in known)
    if unready:
        groups.append(f"{unready} not signed in yet")
    if groups and not sendable:
        found.reasons.append(Reason("senders", "No sender can send now: " + ", ".join(groups) + "."))
    elif groups:
        sending = f"{len(sendable)} of {len(pool.statuses)} senders can send"
        found.notes.append(Reason("senders", f"{sending}; " + ", ".join(groups) + "."))
    return sendable


def _caps(
    campaign: Campaign, senders: dict[int, planner.Sender], work: _Work, found: Explanation, now: datetime
) -> None:
    """Nothing is planned: say so when today's cap or new-DM budget is what stops the next plan (the
    planner's own test, ``Sender.fits``)."""
    if work.unplanned == 0 and work.follow_ups_due == 0:
        return
    resume = _at(planner.next_day_opening(campaign, now), found.zone, now)
    if not any(s.fits(first=False) for s in senders.values()):
        found.reasons.append(
            Reason("cap", f"Daily cap reached ({campaign.daily_cap} per sender): resumes {resume}.")
        )
    elif work.follow_ups_due == 0 and not any(s.fits(first=True) for s in senders.values()):
        limits = daily_limits(account_ids=list(senders), now=now)
        allowed = sorted({limits[a]["new_dm"].limit for a in senders})
        per_day = "/".join(str(n) for n in allowed)
        found.reasons.append(
            Reason(
                "budget",
                f"Every sender has written today's new-DM budget ({per_day} a day, warm-up ramp included): "
                f"resumes {resume}.",
            )
        )


def _next_send(
    campaign: Campaign, found: Explanation, work: _Work, now: datetime, pool: planner.Pool
) -> datetime | None:
    codes = set(found.codes)
    if codes & STUCK:
        return None
    if "senders" in codes:
        # Only a cooldown ends by itself; the rest wait for a person.
        ends = Account.objects.filter(pk__in=pool.usable, cooldown_until__gt=now).aggregate(
            at=Min("cooldown_until")
        )
        return planner.next_opening(campaign, ends["at"]) if ends["at"] else None
    if codes & {"cap", "budget"}:
        return planner.next_day_opening(campaign, now)
    moment = max(now, work.planned_first or now)
    return planner.next_opening(campaign, moment)


def _finish(
    campaign: Campaign, senders: dict[int, planner.Sender], work: _Work, now: datetime
) -> datetime | None:
    """Estimated end: the unplanned first messages at the senders' pace (gap, cap, new-DM budget,
    window), day by day after what is planned, then the follow-ups' waits after the last of them."""
    follow_ups = _finish_follow_ups(campaign, now)
    if work.firsts == 0:
        return follow_ups if work.follow_ups else max(now, work.planned_last or now)
    gap = max(1.0, (campaign.gap_min + max(campaign.gap_min, campaign.gap_max)) / 2)
    window = planner.window_for(campaign, now)
    span = sum((end - start).total_seconds() for start, end in window.spans)
    per_sender = min(campaign.daily_cap, math.floor(span / gap) + 1)
    limits = daily_limits(account_ids=list(senders), now=now)
    per_day = sum(min(per_sender, limits[a]["new_dm"].limit) for a in senders)
    today = sum(min(s.room, s.new_dms) for s in senders.values()) if window.fit(now) else 0
    start = max(planner.next_opening(campaign, now), work.planned_last or now)
    left = work.unplanned
    if left <= today:
        end = start + timedelta(seconds=gap * math.ceil(left / len(senders)))
    elif per_day <= 0:
        return None  # no sender may write a first message on any day: it would never finish
    else:
        left -= today
        days = math.ceil(left / per_day)
        opening = now
        for _ in range(days):
            opening = planner.next_day_opening(campaign, opening)
        rest = left - (days - 1) * per_day
        end = opening + timedelta(seconds=gap * math.ceil(rest / len(senders)))
    waits = sum((f.after for f in campaign.follow_ups.all()), timedelta())
    return max(planner.next_opening(campaign, end + waits), follow_ups)


def _finish_follow_ups(campaign: Campaign, now: datetime) -> datetime:
    """When the people already written to have had every step: the latest one's next step, plus the
    waits of the steps after it."""
    steps = list(campaign.follow_ups.all())
    latest = now
    for step in steps:
        written = Recipient.objects.filter(
            campaign=campaign, step=step.position - 1, state=Recipient.State.CONTACTED
        ).aggregate(at=Max("last_sent_at"))["at"]
        if written is not None:
            later = sum((f.after for f in steps if f.position > step.position), timedelta())
            latest = max(latest, written + step.after + later)
    return planner.next_opening(campaign, latest)


def _note_unreachable(campaign: Campaign, found: Explanation, *, waiting: int = 0) -> None:
    skipped = Recipient.objects.filter(
        campaign=campaign, state=Recipient.State.SKIPPED, reason=planner.UNREACHABLE
    ).count()
    if skipped + waiting:
        found.notes.append(Reason("unreachable", _unreachable_text(skipped + waiting)))


def _unreachable_text(n: int) -> str:
    who = _n(n, "person", "people")
    return f"No sender can reach {who} (no username, and no sender shares a chat with them)."


def _window(campaign: Campaign) -> str:
    if campaign.window_start == campaign.window_end:
        return f"all day, {campaign.timezone}"
    return f"{campaign.window_start:%H:%M}-{campaign.window_end:%H:%M} {campaign.timezone}"


def _at(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """ "14:05 Europe/Berlin" today, "tomorrow 09:00 Europe/Berlin", else "Wed 4 Mar 09:00 …"."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        day = ""
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow "
    else:
        day = f"{local:%a} {local.day} {local:%b} "
    return f"{day}{local:%H:%M} {zone.key}"


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
