"""The campaign tick: notice replies, move work off unavailable senders, plan today's sends, queue due ones.

Planning is exact by construction: every send is a row with the local ``day`` whose cap it counts against,
and all planning runs under one PostgreSQL advisory lock, so two ticks (or two campaigns sharing a contact
or a sender) never plan past a cap or write to the same person twice.
"""

from __future__ import annotations

import heapq
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from inbox.models import Contact, ContactHash, Message
from outreach import signals, spintax
from outreach.limits import daily_limits
from outreach.models import Campaign, Recipient, Send
from outreach.services import PLANNING_LOCK, send_queue

AVAILABLE = (Account.Status.ACTIVE, Account.Status.COOLDOWN)
GONE = (Account.Status.BANNED, Account.Status.REAUTH_REQUIRED, Account.Status.DISABLED)
BATCH = 5000
UNREACHABLE = "No sender can address this person (no username, no shared chat)"  # a recipient's skip reason


@dataclass
class Sender:
    """One pool account's room today: campaign cap, new-DM budget, resolve budget, next free slot."""

    account_id: int
    room: int  # messages this campaign may still give it today
    new_dms: int  # first messages it may still send today (all campaigns)
    resolves: int  # usernames it may still resolve today
    next_slot: datetime

    def fits(self, *, first: bool) -> bool:
        """Room under the campaign's cap today, and for a first message the account's new-DM budget."""
        return self.room > 0 and (self.new_dms > 0 or not first)

    def take_slot(self, campaign: Campaign, window: Window, rng: random.Random) -> datetime | None:
        slot = window.fit(self.next_slot)
        if slot is None:
            return None
        self.next_slot = slot + timedelta(
            seconds=rng.uniform(campaign.gap_min, max(campaign.gap_min, campaign.gap_max))
        )
        return slot


@dataclass
class Window:
    """The send window of one local day, as aware datetimes."""

    day: date
    opens: datetime
    closes: datetime
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)

    def fit(self, moment: datetime) -> datetime | None:
        for start, end in self.spans:
            if moment < end:
                return max(moment, start)
        return None

    def is_open(self, moment: datetime) -> bool:
        return any(start <= moment < end for start, end in self.spans)


def window_for(campaign: Campaign, now: datetime) -> Window:
    zone = ZoneInfo(campaign.timezone)
    local = now.astimezone(zone)
    day = local.date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    tomorrow = midnight + timedelta(days=1)

    def at(t) -> datetime:
        return datetime.combine(day, t, tzinfo=zone)

    start, end = campaign.window_start, campaign.window_end
    if start == end:
        spans = [(midnight, tomorrow)]
    elif start < end:
        spans = [(at(start), at(end))]
    else:  # overnight, e.g. 20:00-02:00: the early hours and the evening of the same local day
        spans = [(midnight, at(end)), (at(start), tomorrow)]
    return Window(day=day, opens=spans[0][0], closes=spans[-1][1], spans=spans)


def next_opening(campaign: Campaign, now: datetime) -> datetime:
    """The first moment at or after ``now`` inside the send window (now itself when it is open)."""
    moment = window_for(campaign, now).fit(now)
    return moment if moment is not None else next_day_opening(campaign, now)


def next_day_opening(campaign: Campaign, now: datetime) -> datetime:
    """When the window opens on the next local day: where a cap reached today (caps count per local
    day) lets sending resume."""
    zone = ZoneInfo(campaign.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return window_for(campaign, datetime.combine(tomorrow, time(12), tzinfo=zone)).opens


@dataclass(frozen=True)
class Pool:
    """A campaign's senders as the planner sorts them at one moment."""

    statuses: dict[int, str]  # every sender: its account status
    paused: set[int]  # spam-limited or outreach paused: no first messages; its follow-ups wait for it
    gone: set[int]  # banned, logged out, disabled: its unsent work goes back to the pool
    usable: list[int]  # may be planned for (a cooling-down account's sends wait in its queue)


def sender_pool(campaign: Campaign, now: datetime) -> Pool:
    """Sort the campaign's senders by what the planner may give them (the tick and its explanation)."""
    accounts = dict(campaign.senders.values_list("id", "status"))
    paused = set(campaign.senders.filter(outreach_paused_until__gt=now).values_list("id", flat=True)) | {
        a for a, status in accounts.items() if status == Account.Status.SPAM_LIMITED
    }
    gone = {a for a, status in accounts.items() if status in GONE}
    usable = [a for a, status in accounts.items() if status in AVAILABLE and a not in paused]
    return Pool(statuses=accounts, paused=paused, gone=gone, usable=usable)


def reachable(*, holders: set[int], username: str) -> bool:
    """A person can be written to by a sender holding their access_hash (hashes are per account) or,
    with a username, by one that resolves it. ``unreachable_contacts`` is the same rule in SQL."""
    return bool(holders) or bool(username)


def unreachable_contacts(contacts: QuerySet[Contact], pool: list[int]) -> QuerySet[Contact]:
    """The contacts no sender of ``pool`` can address (see ``reachable``)."""
    held = ContactHash.objects.filter(contact_id=OuterRef("pk"), account_id__in=pool)
    return contacts.filter(username="").exclude(Exists(held))


@dataclass
class TickReport:
    replied: int = 0
    released: int = 0
    planned: int = 0
    follow_ups: int = 0
    skipped: int = 0
    queued: list[tuple[int, int]] = field(default_factory=list)  # (account id, send id)
    finished: bool = False


def campaign_tick(
    *, campaign_id: int, now: datetime | None = None, rng: random.Random | None = None
) -> TickReport:
    """One planning pass over a running campaign. Queues due sends after the transaction commits."""
    now = now or timezone.now()
    rng = rng or random.Random()
    report = TickReport()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PLANNING_LOCK])
        campaign = Campaign.objects.filter(pk=campaign_id, state=Campaign.State.RUNNING).first()
        if campaign is None:
            return report
        report.replied = note_replies(campaign)
        pool = sender_pool(campaign, now)
        accounts, paused, gone, usable = pool.statuses, pool.paused, pool.gone, pool.usable
        window = window_for(campaign, now)
        report.released = release(campaign, gone=gone, paused=paused, window=window)
        senders = senders_today(campaign, usable, window, now)
        report.follow_ups = plan_follow_ups(campaign, senders, window, now, rng)
        report.planned, report.skipped = plan_first_messages(campaign, senders, list(accounts), window, rng)
        report.queued = queue_due(campaign, usable, window, now)
        report.finished = finish_if_done(campaign, now)
        transaction.on_commit(lambda: send_queue(report.queued))
    return report


def note_replies(campaign: Campaign) -> int:
    """Recipients who wrote back (an inbound private message after our first) are marked replied;
    with stop-on-reply their pending follow-ups are dropped."""
    answered = Message.objects.filter(
        direction=Message.Direction.IN,
        conversation__kind="private",
        conversation__account_id=OuterRef("account_id"),
        conversation__peer_id=OuterRef("contact__telegram_id"),
        telegram_id__gt=OuterRef("first_message_id"),
    ).values("date")[:1]
    replied = Recipient.objects.filter(
        campaign=campaign,
        state__in=(Recipient.State.CONTACTED, Recipient.State.DONE),
        replied_at__isnull=True,
        first_message_id__isnull=False,
    ).filter(Exists(answered))
    ids = list(replied.values_list("id", flat=True))
    if not ids:
        return 0
    Recipient.objects.filter(id__in=ids).update(state=Recipient.State.REPLIED, replied_at=timezone.now())
    if campaign.stop_on_reply:
        Send.objects.filter(recipient_id__in=ids, state=Send.State.PLANNED).delete()
    return len(ids)


def release(campaign: Campaign, *, gone: set[int], paused: set[int], window: Window) -> int:
    """Unstarted sends of banned / logged-out accounts go back to the pool, with their recipients; a
    spam-limited account keeps its follow-ups (they wait for it) but gives up its first messages."""
    unstarted = Send.objects.filter(campaign=campaign, state__in=(Send.State.PLANNED, Send.State.QUEUED))
    # A gone account's "sending" ones too: its command may have died with its lease, and it can send no more.
    released = Send.objects.filter(campaign=campaign, account_id__in=gone).exclude(
        state__in=(Send.State.SENT, Send.State.FAILED, Send.State.SKIPPED)
    ) | unstarted.filter(account_id__in=paused, step=0)
    recipient_ids = list(released.values_list("recipient_id", flat=True))
    count = released.delete()[0]
    # Yesterday's leftovers (the window closed first) are planned again today, against today's caps.
    stale = Send.objects.filter(campaign=campaign, state=Send.State.PLANNED, day__lt=window.day)
    recipient_ids += list(stale.values_list("recipient_id", flat=True))
    count += stale.delete()[0]
    Recipient.objects.filter(campaign=campaign, account_id__in=gone).update(account=None)
    Recipient.objects.filter(id__in=recipient_ids, step=-1).update(account=None)
    return count


def senders_today(campaign: Campaign, usable: list[int], window: Window, now: datetime) -> dict[int, Sender]:
    limits = daily_limits(account_ids=usable, now=now)
    mine = {
        row["account_id"]: row
        for row in Send.objects.filter(campaign=campaign, account_id__in=usable, day=window.day)
        .values("account_id")
        .annotate(n=Count("id"), last=Max("due_at"))
    }
    today = Send.objects.filter(account_id__in=usable, day=window.day)
    firsts = dict(
        today.filter(step=0).values("account_id").annotate(n=Count("id")).values_list("account_id", "n")
    )
    resolves = dict(
        today.filter(resolves=True)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    senders = {}
    for account_id in usable:
        gap = timedelta(seconds=campaign.gap_min)
        row = mine.get(account_id, {"n": 0, "last": None})
        previous = row["last"]
        senders[account_id] = Sender(
            account_id=account_id,
            room=max(0, campaign.daily_cap - row["n"]),
            new_dms=max(0, limits[account_id]["new_dm"].limit - firsts.get(account_id, 0)),
            resolves=max(0, limits[account_id]["resolve_username"].limit - resolves.get(account_id, 0)),
            next_slot=max(now, previous + gap) if previous else now,
        )
    return senders


@dataclass
class _Compiled:
    templates: dict[int, tuple[spintax.Node, ...]]

    @classmethod
    def of(cls, campaign: Campaign) -> _Compiled:
        templates = {0: spintax.parse(campaign.template)}
        for follow_up in campaign.follow_ups.all():
            templates[follow_up.position] = spintax.parse(follow_up.template)
        return cls(templates)

    def render(self, step: int, contact: Contact, rng: random.Random) -> spintax.Rendered:
        context = {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "username": contact.username,
        }
        return spintax.render(self.templates[step], context=context, rng=rng)


def _new_send(campaign, recipient, contact, sender, step, slot, window, resolves, compiled, rng) -> Send:
    rendered = compiled.render(step, contact, rng)
    return Send(
        campaign=campaign,
        recipient_id=recipient.id if isinstance(recipient, Recipient) else recipient,
        account_id=sender.account_id,
        step=step,
        day=window.day,
        due_at=slot,
        random_id=secrets.randbits(63),
        resolves=resolves,
        text=rendered.text,
        variant=rendered.variant[:64],
    )


def _holders(contact_ids: list[int], account_ids) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    rows = ContactHash.objects.filter(contact_id__in=contact_ids, account_id__in=account_ids)
    for contact_id, account_id in rows.values_list("contact_id", "account_id"):
        found.setdefault(contact_id, set()).add(account_id)
    return found


def _fits(sender: Sender, *, first: bool) -> bool:
    return sender.fits(first=first)


class _Resolvers:
    """Senders that may resolve a username, most room first (a lazy heap: O(log n) a pick, not O(n))."""

    def __init__(self, senders: dict[int, Sender]) -> None:
        self.senders = senders
        self.heap = [(-s.room, s.account_id) for s in senders.values()]
        heapq.heapify(self.heap)

    def pick(self, *, first: bool) -> Sender | None:
        while self.heap:
            room, account_id = self.heap[0]
            sender = self.senders[account_id]
            if not _fits(sender, first=first) or sender.resolves <= 0:
                heapq.heappop(self.heap)
            elif -room != sender.room:
                heapq.heapreplace(self.heap, (-sender.room, account_id))
            else:
                return sender
        return None


def _choose(
    senders: dict[int, Sender], holders: set[int], username: str, resolvers: _Resolvers, *, first: bool
) -> tuple[Sender | None, bool]:
    """The sender with most room among those that hold the person's hash; else one that may resolve the
    username. Returns (sender, needs_resolve)."""
    holding = [senders[a] for a in holders if a in senders and _fits(senders[a], first=first)]
    if holding:
        return max(holding, key=lambda s: s.room), False
    if username:
        sender = resolvers.pick(first=first)
        if sender is not None:
            return sender, True
    return None, False


def plan_first_messages(
    campaign: Campaign, senders: dict[int, Sender], pool: list[int], window: Window, rng: random.Random
) -> tuple[int, int]:
    """Give waiting recipients to senders with room today. Returns (planned, skipped as unreachable)."""
    if not senders:
        return 0, 0
    compiled = _Compiled.of(campaign)
    resolvers = _Resolvers(senders)
    planned = skipped = 0
    after = 0
    full: set[int] = set()
    while len(full) < len(senders):
        batch = list(
            Recipient.objects.filter(
                campaign=campaign, state=Recipient.State.WAITING, account__isnull=True, id__gt=after
            )
            .select_related("contact")
            .order_by("id")[:BATCH]
        )
        if not batch:
            break
        after = batch[-1].id
        holders = _holders([r.contact_id for r in batch], pool)
        blocked = set() if campaign.allow_recontact else _reached_elsewhere(campaign, batch)
        sends, unreachable, recontacts, opted_out = [], [], [], []
        for recipient in batch:
            contact = recipient.contact
            if contact.opted_out:
                opted_out.append(recipient.id)
                continue
            if recipient.contact_id in blocked:
                recontacts.append(recipient.id)
                continue
            known = holders.get(contact.id, set())
            sender, resolves = _choose(senders, known, contact.username, resolvers, first=True)
            if sender is None:
                if not reachable(holders=known, username=contact.username):
                    unreachable.append(recipient.id)
                continue
            slot = sender.take_slot(campaign, window, rng)
            if slot is None:
                sender.room = 0
                full.add(sender.account_id)
                continue
            sender.room -= 1
            sender.new_dms -= 1
            sender.resolves -= int(resolves)
            if sender.room <= 0 or sender.new_dms <= 0:
                full.add(sender.account_id)
            sends.append(
                _new_send(campaign, recipient, contact, sender, 0, slot, window, resolves, compiled, rng)
            )
            recipient.account_id = sender.account_id
        Send.objects.bulk_create(sends, batch_size=2000)
        _assign([(send.recipient_id, send.account_id) for send in sends])
        skipped += _skip(unreachable, UNREACHABLE)
        skipped += _skip(recontacts, "Already contacted by another campaign")
        skipped += _skip(opted_out, "Opted out")
        planned += len(sends)
    return planned, skipped


def _reached_elsewhere(campaign: Campaign, batch: list[Recipient]) -> set[int]:
    """Contacts another campaign wrote to, or is about to (planned, queued, sending): never twice."""
    others = Recipient.objects.filter(contact_id__in=[r.contact_id for r in batch]).exclude(campaign=campaign)
    busy = (Send.State.PLANNED, Send.State.QUEUED, Send.State.SENDING, Send.State.SENT)
    return set(
        others.filter(Q(first_sent_at__isnull=False) | Q(sends__state__in=busy)).values_list(
            "contact_id", flat=True
        )
    )


def _assign(pairs: list[tuple[int, int]]) -> None:
    """Recipients take the sender of their first planned send: one statement per batch."""
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE outreach_recipient r SET account_id = v.account_id
            FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, account_id)
            WHERE r.id = v.id
            """,
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )


def _skip(recipient_ids: list[int], reason: str) -> int:
    if not recipient_ids:
        return 0
    return Recipient.objects.filter(id__in=recipient_ids).update(state=Recipient.State.SKIPPED, reason=reason)


def plan_follow_ups(
    campaign: Campaign, senders: dict[int, Sender], window: Window, now: datetime, rng: random.Random
) -> int:
    """Recipients whose last message is older than the next step's wait, without a reply (when replies
    stop the campaign), get that step from their own sender; only a gone sender's people move to another."""
    steps = {f.position: f for f in campaign.follow_ups.all()}
    if not steps or not senders:
        return 0
    compiled = _Compiled.of(campaign)
    resolvers = _Resolvers(senders)
    states = [Recipient.State.CONTACTED] + ([] if campaign.stop_on_reply else [Recipient.State.REPLIED])
    planned = 0
    for position, follow_up in sorted(steps.items()):
        due = (
            Recipient.objects.filter(
                campaign=campaign,
                state__in=states,
                step=position - 1,
                last_sent_at__lte=now - follow_up.after,
            )
            .exclude(sends__step=position)
            .select_related("contact")
        )
        batch = list(due[:BATCH])
        holders = _holders([r.contact_id for r in batch], senders.keys())
        sends = []
        for recipient in batch:
            resolves = False
            if recipient.account_id is None:
                # Its sender is gone (banned, logged out): another that can address the person takes over.
                sender, resolves = _choose(
                    senders,
                    holders.get(recipient.contact_id, set()),
                    recipient.contact.username,
                    resolvers,
                    first=False,
                )
            else:
                # A follow-up comes from the same person, or waits for them (cap reached, paused).
                sender = senders.get(recipient.account_id)
            if sender is None or sender.room <= 0:
                continue
            slot = sender.take_slot(campaign, window, rng)
            if slot is None:
                sender.room = 0
                continue
            sender.room -= 1
            sender.resolves -= int(resolves)
            if recipient.account_id != sender.account_id:
                Recipient.objects.filter(pk=recipient.pk).update(account_id=sender.account_id)
            sends.append(
                _new_send(
                    campaign,
                    recipient,
                    recipient.contact,
                    sender,
                    position,
                    slot,
                    window,
                    resolves,
                    compiled,
                    rng,
                )
            )
        Send.objects.bulk_create(sends)
        planned += len(sends)
    return planned


def queue_due(campaign: Campaign, usable: list[int], window: Window, now: datetime) -> list[tuple[int, int]]:
    """Planned sends whose time has come, of senders that may send now, move to their account queues."""
    if not window.is_open(now):
        return []
    due = Send.objects.filter(
        campaign=campaign, state=Send.State.PLANNED, due_at__lte=now, account_id__in=usable
    ).order_by("due_at")
    rows = list(due.values_list("id", "account_id")[:BATCH])
    Send.objects.filter(id__in=[send_id for send_id, _ in rows]).update(
        state=Send.State.QUEUED, queued_at=now
    )
    return [(account_id, send_id) for send_id, account_id in rows]


def finish_if_done(campaign: Campaign, now: datetime) -> bool:
    open_sends = Send.objects.filter(
        campaign=campaign, state__in=(Send.State.PLANNED, Send.State.QUEUED, Send.State.SENDING)
    ).exists()
    if open_sends:
        return False
    last_step = max([0, *campaign.follow_ups.values_list("position", flat=True)])
    waiting = Recipient.objects.filter(campaign=campaign).filter(
        Q(state=Recipient.State.WAITING)
        | Q(state=Recipient.State.CONTACTED, step__lt=last_step)
        | Q(state=Recipient.State.REPLIED, step__lt=last_step) & Q(campaign__stop_on_reply=False)
    )
    if waiting.exists():
        return False
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.FINISHED, finished_at=now)
    signals.campaign_finished.send(sender=Campaign, campaign_id=campaign.pk)
    return True
