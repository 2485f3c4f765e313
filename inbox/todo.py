"""Tasks on conversations ("call back at 18:00"): writes, reads, due times in the user's time zone,
and the reminder that notifies each task's assignee once when it falls due.

A due time is entered in the user's own time zone (``NotificationPreference.timezone``) and stored in
UTC. One in the past is allowed (a task written down late) and is simply overdue at once. Every bad
value raises ValueError with a sentence for the operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from crm.parsing import text_problem
from inbox import notify, selectors
from inbox.models import Conversation, Notification, Task

MAX_TITLE = 200
# A due time further than this from now is a typo (year 99999, 1900…), not a plan.
MAX_DISTANCE = timedelta(days=366 * 20)
REMIND_BATCH = 500


# --- due times ---------------------------------------------------------------------------------------


def due_parse(value: str, *, zone: tzinfo, now: datetime | None = None) -> datetime:
    """The due time a form sent ("2026-11-26T18:00", as <input type=datetime-local> writes it) in the
    user's zone, as an aware datetime."""
    value = (value or "").strip()
    if not value:
        raise ValueError("Choose when the task is due")
    if problem := text_problem(value, max_length=40):
        raise ValueError(problem)
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::\d{2})?", value)
    if match is None:
        raise ValueError("Give the due time as a date and a time, like 2026-11-26 18:00")
    try:
        year, month, day, hour, minute = (int(part) for part in match.groups())
        naive = datetime(year, month, day, hour, minute)
    except ValueError:
        raise ValueError(f"{value} is not a date on the calendar") from None
    return _bounded(timezone.make_aware(naive, zone), now=now)


def _bounded(due: datetime, *, now: datetime | None) -> datetime:
    now = now or timezone.now()
    if abs(due - now) > MAX_DISTANCE:
        raise ValueError("The due time must be within 20 years of today")
    return due


_TIME = r"(?P<hour>[01]?\d|2[0-3])[:.](?P<minute>[0-5]\d)"
_IN_TEXT = re.compile(rf"\b(?:(?P<day>today|tomorrow)\s+(?:at\s+)?|at\s+){_TIME}\b", re.IGNORECASE)


def due_in_text(text: str, *, zone: tzinfo, now: datetime | None = None) -> datetime | None:
    """A time written in a note ("call back at 18:00", "tomorrow 9:00", "today at 14.30") in the user's
    zone, or None. "at 18:00" means the next 18:00: today, or tomorrow once today's has passed."""
    match = _IN_TEXT.search(text or "")
    if match is None:
        return None
    now = now or timezone.now()
    local = timezone.localtime(now, zone)
    day = (match.group("day") or "").lower()
    date = local.date() + timedelta(days=1 if day == "tomorrow" else 0)
    naive = datetime.combine(date, datetime.min.time()).replace(
        hour=int(match.group("hour")), minute=int(match.group("minute"))
    )
    due = timezone.make_aware(naive, zone)
    if not day and due <= now:
        due += timedelta(days=1)
    return due


def due_local_value(due: datetime, *, zone: tzinfo) -> str:
    """A due time as <input type=datetime-local> shows it, in the user's zone."""
    return timezone.localtime(due, zone).strftime("%Y-%m-%dT%H:%M")


def task_offer(*, text: str, zone: tzinfo) -> dict[str, str] | None:
    """What a note that names a time ("call back at 18:00") offers: a task of its words, due then."""
    due = due_in_text(text, zone=zone)
    if due is None:
        return None
    return {"title": " ".join(text.split())[:MAX_TITLE], "due": due_local_value(due, zone=zone)}


# --- writes ------------------------------------------------------------------------------------------


def _title_clean(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValueError("Write what is to be done")
    if problem := text_problem(title, max_length=MAX_TITLE):
        raise ValueError(problem)
    return title


def _assignee_check(*, conversation: Conversation, assignee: Any) -> None:
    if assignee is None or not selectors.assignees(conversation=conversation).filter(pk=assignee.pk).exists():
        raise ValueError("Choose someone who can see this conversation")


def task_create(*, conversation: Conversation, title: str, due_at: datetime, assignee: Any, by: Any) -> Task:
    """A task on a conversation for ``assignee`` (an admin or an operator granted its account)."""
    title = _title_clean(title)
    _assignee_check(conversation=conversation, assignee=assignee)
    with transaction.atomic():
        task = Task.objects.create(
            conversation=conversation, title=title, due_at=due_at, assignee=assignee, created_by=by
        )
        notify.task_assigned_notify(task=task, by=by)
    return task


def task_update(*, task: Task, title: str, due_at: datetime, assignee: Any, by: Any = None) -> Task:
    """Change a task; a new due time reminds again (a moved task is a new appointment). A task handed
    to someone else tells them."""
    title = _title_clean(title)
    _assignee_check(conversation=task.conversation, assignee=assignee)
    fields = {"title": title, "due_at": due_at, "assignee": assignee}
    if due_at != task.due_at:
        fields["reminded_at"] = None
    handed_over = assignee.pk != task.assignee_id
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(**fields)
        task.refresh_from_db()
        if handed_over:
            notify.task_assigned_notify(task=task, by=by)
    return task


def task_set_done(*, task: Task, done: bool) -> None:
    """Done, or undone (back on the list; not reminded again for a time that already reminded)."""
    Task.objects.filter(pk=task.pk).update(done_at=timezone.now() if done else None)
    task.refresh_from_db(fields=["done_at"])


def task_delete(*, task: Task) -> None:
    task.delete()


# --- reads -------------------------------------------------------------------------------------------


def tasks_visible(*, user: Any) -> QuerySet[Task]:
    """Tasks on conversations the user may see."""
    return Task.objects.filter(conversation__in=selectors.conversations_visible(user=user))


def task_get(*, user: Any, task_id: int) -> Task:
    """The task if the user may see its conversation; 404 otherwise."""
    task = tasks_visible(user=user).select_related("conversation", "assignee").filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task")
    return task


@dataclass(frozen=True)
class MyTasks:
    open: list[Task]
    done: list[Task]


def tasks_mine(*, user: Any, done_limit: int = 20) -> MyTasks:
    """The user's open tasks by due time (so the overdue ones come first), then the latest done."""
    mine = tasks_visible(user=user).filter(assignee=user).select_related("conversation")
    return MyTasks(
        open=list(mine.filter(done_at__isnull=True).order_by("due_at", "id")),
        done=list(mine.filter(done_at__isnull=False).order_by("-done_at")[:done_limit]),
    )


def tasks_of(*, conversation: Conversation) -> list[Task]:
    return list(conversation.tasks.select_related("assignee").order_by("done_at", "due_at", "id"))


# --- the reminder ------------------------------------------------------------------------------------


def _may_see(task: Task) -> bool:
    return selectors.assignees(conversation=task.conversation).filter(pk=task.assignee_id).exists()


def tasks_remind_due(*, now: datetime | None = None) -> int:
    """Notify the assignee of every open task that is due and was not reminded yet; how many.

    Each task is claimed with ``UPDATE … WHERE reminded_at IS NULL`` in the same transaction as its
    notification: when two runs race, the second's UPDATE waits for the first's row lock, then finds
    the row claimed and touches nothing, so each task reminds exactly once (and not at all if the
    notification could not be written)."""
    now = now or timezone.now()
    due = list(
        Task.objects.filter(due_at__lte=now, done_at__isnull=True, reminded_at__isnull=True)
        .order_by("due_at")
        .values_list("pk", flat=True)[:REMIND_BATCH]
    )
    reminded = 0
    for task_id in due:
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task_id, done_at__isnull=True, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            task = Task.objects.select_related("conversation").get(pk=task_id)
            if not _may_see(task):
                continue  # lost the account since: its title is no longer theirs to read
            notify.notify(
                user_ids=[task.assignee_id],
                kind=Notification.Kind.TASK_DUE,
                text=f"Task due: {task.title}",
                conversation=task.conversation,
                task=task,
            )
            reminded += 1
    return reminded
