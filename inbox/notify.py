"""Notifications: a row per user for a message in a conversation assigned to them, a mention in a note
(``@username``), a task that fell due (``inbox.todo``), a conversation or a task someone else (or a team's
auto-assignment) gave them; the unread count; per-user preferences.

Each new notification publishes a ``notify`` event on its user's notify channel after commit
(``crm.live.user_notify_channel``): every open page of theirs re-reads the unread count (the tab
title, the top bar) and, when the tab is hidden and the user allows it, shows a browser notification.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import available_timezones

from django.db.models import QuerySet
from django.utils import timezone

from crm import live as push
from inbox import selectors, signals
from inbox.models import Conversation, Message, Note, Notification, NotificationPreference, Task

log = logging.getLogger(__name__)

MAX_TEXT = 300
# Django usernames are letters, digits and @.+-_; a mention ends before a trailing full stop ("ask @ana.").
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]{1,150})")


def notify(
    *,
    user_ids: Iterable[int],
    kind: str,
    text: str,
    conversation: Conversation | None = None,
    task: Task | None = None,
) -> list[Notification]:
    """Notify these users (those whose preferences leave ``kind`` on), pushed after commit."""
    return rows_notify(
        [
            Notification(user_id=u, kind=kind, text=text, conversation=conversation, task=task)
            for u in sorted(set(user_ids))
        ]
    )


# How many conversations a notification of a bulk assignment names.
BULK_NAMED = 3


def rows_notify(rows: list[Notification]) -> list[Notification]:
    """Write these notifications, less those their users' preferences turn off, in one statement;
    pushed after commit."""
    prefs = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in={r.user_id for r in rows})
    }
    wanted = [r for r in rows if r.user_id not in prefs or prefs[r.user_id].wants(r.kind)]
    for row in wanted:
        row.text = row.text[:MAX_TEXT]
    Notification.objects.bulk_create(wanted)
    push.publish_on_commit((push.user_notify_channel(r.user_id), push.message("notify")) for r in wanted)
    return wanted


def mentions_notify(*, note: Note) -> list[Notification]:
    """``@username`` in a note notifies that user if they may see the conversation (admins, operators
    granted its account), never its author."""
    names = {m.rstrip(".").lower() for m in MENTION.findall(note.text)}
    if not names:
        return []
    conversation = note.conversation
    may_see = selectors.assignees(conversation=conversation).exclude(pk=note.author_id)
    users = [u.pk for u in may_see if u.get_username().lower() in names]
    author = note.author.get_username() if note.author else "Someone"
    where = conversation.title or conversation.username or f"conversation {conversation.pk}"
    return notify(
        user_ids=users,
        kind=Notification.Kind.MENTION,
        text=f"{author} mentioned you on {where}: {note.text}",
        conversation=conversation,
    )


def assigned_notify(*, conversation: Conversation, assignee: Any, by: Any = None) -> list[Notification]:
    """Tell ``assignee`` someone gave them a conversation (``by`` None: through the API). Nobody is told
    of what they took themselves."""
    if assignee is None or (by is not None and getattr(by, "pk", None) == assignee.pk):
        return []
    giver = by.get_username() if getattr(by, "pk", None) else "Someone"
    return rows_notify([_assigned(conversation, user_id=assignee.pk, giver=giver)])


def bulk_assigned_notify(*, conversations: list[Conversation], assignee: Any, by: Any) -> list[Notification]:
    """Tell ``assignee`` someone gave them these conversations at once: one notification, naming a few
    (a single one reads as ``assigned_notify``). Nobody is told of what they took themselves."""
    if len(conversations) == 1:
        return assigned_notify(conversation=conversations[0], assignee=assignee, by=by)
    if not conversations or assignee is None or getattr(by, "pk", None) == assignee.pk:
        return []
    giver = by.get_username() if getattr(by, "pk", None) else "Someone"
    names = [c.title or c.username or f"conversation {c.pk}" for c in conversations[:BULK_NAMED]]
    more = len(conversations) - len(names)
    text = f"{giver} assigned you {len(conversations):,} conversations: " + ", ".join(names)
    return rows_notify(
        [
            Notification(
                user_id=assignee.pk,
                kind=Notification.Kind.ASSIGNED,
                text=text + (f" and {more:,} more" if more else ""),
            )
        ]
    )


def team_assigned_notify(*, conversations: list[Conversation], team: str) -> list[Notification]:
    """Tell each assignee their team's auto-assignment gave them the conversation (one statement)."""
    return rows_notify(
        [_assigned(c, user_id=c.assignee_id, giver=f"Team {team}") for c in conversations if c.assignee_id]
    )


def _assigned(conversation: Conversation, *, user_id: int, giver: str) -> Notification:
    where = conversation.title or conversation.username or f"conversation {conversation.pk}"
    last = " ".join(conversation.last_message_preview.split())
    return Notification(
        user_id=user_id,
        kind=Notification.Kind.ASSIGNED,
        text=f"{giver} assigned you {where}" + (f": {last}" if last else ""),
        conversation=conversation,
    )


def task_assigned_notify(*, task: Task, by: Any) -> list[Notification]:
    """Tell a task's assignee someone else gave it to them (a task made for oneself tells nobody)."""
    if getattr(by, "pk", None) == task.assignee_id:
        return []
    giver = by.get_username() if getattr(by, "pk", None) else "Someone"
    return notify(
        user_ids=[task.assignee_id],
        kind=Notification.Kind.TASK_ASSIGNED,
        text=f"{giver} gave you a task: {task.title}",
        conversation=task.conversation,
        task=task,
    )


def messages_notify(*, message_ids: Iterable[int]) -> int:
    """New inbound messages notify the assignee of their conversation (one notification per
    conversation and batch); how many were written. Receives ``inbox.signals.messages_stored``."""
    latest: dict[int, Message] = {}
    for m in (
        Message.objects.filter(pk__in=list(message_ids), conversation__assignee__isnull=False)
        .select_related("conversation")
        .order_by("date", "id")
    ):
        latest[m.conversation_id] = m
    written = 0
    for message in latest.values():
        conversation = message.conversation
        who = message.sender_name or conversation.title or "A contact"
        preview = " ".join((message.text or f"[{message.media_kind or 'message'}]").split())[:200]
        written += len(
            notify(
                user_ids=[conversation.assignee_id],  # type: ignore[list-item]
                kind=Notification.Kind.MESSAGE,
                text=f"{who}: {preview}",
                conversation=conversation,
            )
        )
    return written


on_messages_stored = signals.on_received(
    lambda ids: messages_notify(message_ids=ids), what="notify assignees"
)


# --- reads and marks ---------------------------------------------------------------------------------


def unread_count(*, user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_recent(*, user: Any, limit: int = 100) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("conversation").order_by("-id")[:limit]


def notifications_after(*, user: Any, after: int, limit: int = 5) -> list[Notification]:
    """The user's unread notifications newer than id ``after`` (what a page has not shown yet)."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True, pk__gt=after).order_by("-id")
    return list(rows[:limit])


def notification_read(*, user: Any, notification_id: int) -> bool:
    """Mark one read; False when it is not the user's (nothing is revealed)."""
    mine = Notification.objects.filter(pk=notification_id, user=user)
    if mine.filter(read_at__isnull=True).update(read_at=timezone.now()):
        push.publish_on_commit([(push.user_notify_channel(user.pk), push.message("notify"))])
    return mine.exists()


def notifications_read_all(*, user: Any) -> int:
    marked = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    push.publish_on_commit([(push.user_notify_channel(user.pk), push.message("notify"))])
    return marked


# --- preferences -------------------------------------------------------------------------------------


def prefs_get(*, user: Any) -> NotificationPreference:
    """The user's preferences (the defaults, unsaved, when they never changed them)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


@functools.cache
def zones() -> list[str]:
    return sorted(available_timezones())


def prefs_save(
    *,
    user: Any,
    messages: bool,
    mentions: bool,
    tasks_due: bool,
    browser: bool,
    zone: str,
    assigned: bool = True,
) -> NotificationPreference:
    """Save preferences; raises ValueError for a time zone that is not in the tz database."""
    zone = (zone or "").strip()
    if zone and zone not in zones():
        raise ValueError("Choose a time zone from the list (like Europe/Berlin)")
    prefs, _ = NotificationPreference.objects.update_or_create(
        user=user,
        defaults={
            "messages": messages,
            "mentions": mentions,
            "tasks_due": tasks_due,
            "assigned": assigned,
            "browser": browser,
            "timezone": zone,
        },
    )
    return prefs
