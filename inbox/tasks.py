"""The inbox's Celery tasks (beat): thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from inbox import todo


@shared_task(name="inbox.tasks_remind_due")
def tasks_remind_due() -> int:
    """Beat, every 15 seconds: notify the assignee of each task that fell due, once."""
    return todo.tasks_remind_due()
