"""Reporting events, written where things happen (in the caller's transaction), never by backfills.

A reply is measured against the inbound messages it answers; a state change (close, reopen) against the
last one. Each value is also stored in business hours, computed once with the hours in force when it is
written: changing the hours later does not rewrite the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q

from inbox.models import BusinessHours, Conversation, Message, ResponseEvent

Kind = ResponseEvent.Kind


@dataclass(frozen=True)
class Hours:
    """Working hours: ``weekdays`` (0 = Monday), from ``start`` to ``end`` local time in ``tz``."""

    tz: str = "UTC"
    weekdays: frozenset[int] = frozenset(range(5))
    start: time = time(9, 0)
    end: time = time(18, 0)

    def seconds_between(self, begin: datetime, finish: datetime) -> float:
        """Seconds of [begin, finish) that fall in working hours (daylight-saving days included)."""
        if finish <= begin:
            return 0.0
        zone = ZoneInfo(self.tz)
        day = begin.astimezone(zone).date()
        last = finish.astimezone(zone).date()
        total = 0.0
        while day <= last:
            if day.weekday() in self.weekdays:
                opens = datetime.combine(day, self.start, zone)
                closes = datetime.combine(day, self.end, zone)
                overlap = (min(closes, finish) - max(opens, begin)).total_seconds()
                total += max(overlap, 0.0)
            day += timedelta(days=1)
        return total


def hours_for(*, account_id: int) -> Hours:
    """The account's own hours, else the team's, else Monday to Friday 09:00-18:00 UTC."""
    row = (
        BusinessHours.objects.filter(Q(account_id=account_id) | Q(account__isnull=True))
        .order_by("account_id")  # the account's own row sorts before the team's (NULLs last)
        .first()
    )
    if row is None:
        return Hours()
    days = frozenset(int(d) for d in row.weekdays if d.isdigit() and int(d) < 7)
    try:
        ZoneInfo(row.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        # A bad row must never stop ingestion (the admin form refuses one; a shell might not).
        return Hours(weekdays=days, start=row.start, end=row.end)
    return Hours(tz=row.timezone, weekdays=days, start=row.start, end=row.end)


def replies_record(*, message_ids: list[int]) -> int:
    """Measure newly stored outbound messages as replies; returns the events written.

    A message with an operator (``sent_by``) is a human reply; one without (a campaign, the API, a reply
    from another device) is automated, measured apart, and never stops the human clock. Each kind of
    replier has its own clock: the oldest inbound message after that kind's previous reply.
    """
    messages = (
        Message.objects.filter(pk__in=message_ids, direction=Message.Direction.OUT)
        .exclude(conversation__kind=Conversation.Kind.CHANNEL)
        .select_related("conversation")
        .order_by("date", "id")
    )
    return sum(_reply_record(m) for m in messages)


def _reply_record(message: Message) -> int:
    automated = message.sent_by_id is None
    history = Message.objects.filter(conversation_id=message.conversation_id, deleted=False)
    earlier = Q(date__lt=message.date) | Q(date=message.date, id__lt=message.id)
    same_kind = Q(sent_by__isnull=automated)
    previous = (
        history.filter(earlier & same_kind, direction=Message.Direction.OUT)
        .exclude(pk=message.pk)
        .order_by("-date", "-id")
        .first()
    )
    inbound = history.filter(earlier, direction=Message.Direction.IN).order_by("date", "id")
    if previous is not None:
        inbound = inbound.filter(Q(date__gt=previous.date) | Q(date=previous.date, id__gt=previous.id))
    waiting = inbound.first()
    if waiting is None:
        return 0  # not an answer: a first message, or a second reply to the same question
    written = [_event(message, Kind.REPLY_TIME, since=waiting.date, automated=automated)]
    measured = ResponseEvent.objects.filter(
        conversation_id=message.conversation_id, kind=Kind.FIRST_RESPONSE, automated=automated
    )
    if not measured.exists():
        first = history.filter(direction=Message.Direction.IN).order_by("date", "id").first()
        assert first is not None  # waiting is an inbound message of this history
        written.append(_event(message, Kind.FIRST_RESPONSE, since=first.date, automated=automated))
    return len(written)


def _event(message: Message, kind: str, *, since: datetime, automated: bool) -> ResponseEvent:
    conversation = message.conversation
    return _write(
        kind=kind,
        conversation=conversation,
        since=since,
        at=message.date,
        message=message,
        operator_id=message.sent_by_id,
        automated=automated,
    )


def state_changed(*, conversation: Conversation, old: str, new: str, at: datetime, by_id: int | None) -> None:
    """Closing measures the time since the conversation was opened (or last reopened); reopening a
    closed conversation measures the time it stayed closed."""
    if old == new:
        return
    if new == Conversation.State.CLOSED:
        kind, since = Kind.RESOLUTION, _opened_at(conversation)
    elif old == Conversation.State.CLOSED:
        last_close = _last(conversation, Kind.RESOLUTION)
        kind, since = Kind.REOPEN, last_close.at if last_close else at
    else:
        return  # snoozing or waking is neither a resolution nor a reopen
    _write(kind=kind, conversation=conversation, since=since, at=at, operator_id=by_id)


def _opened_at(conversation: Conversation) -> datetime:
    reopened = _last(conversation, Kind.REOPEN)
    if reopened is not None:
        return reopened.at
    first = conversation.messages.order_by("date", "id").values_list("date", flat=True).first()
    return first or conversation.created_at


def _last(conversation: Conversation, kind: str) -> ResponseEvent | None:
    return ResponseEvent.objects.filter(conversation=conversation, kind=kind).order_by("-at", "-id").first()


def _write(
    *,
    kind: str,
    conversation: Conversation,
    since: datetime,
    at: datetime,
    message: Message | None = None,
    operator_id: int | None = None,
    automated: bool = False,
) -> ResponseEvent:
    hours = hours_for(account_id=conversation.account_id)
    return ResponseEvent.objects.create(
        kind=kind,
        at=at,
        conversation=conversation,
        account_id=conversation.account_id,
        message=message,
        operator_id=operator_id,
        automated=automated,
        labels=sorted(conversation.labels.values_list("id", flat=True)),
        seconds=max((at - since).total_seconds(), 0.0),
        business_seconds=hours.seconds_between(since, at),
    )
