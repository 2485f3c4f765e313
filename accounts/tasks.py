"""The accounts app's tasks for the general worker (account commands are in accounts.commands, the alert
webhook in accounts.alerts)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts import registry


@shared_task(name="accounts.operations_prune")
def operations_prune() -> int:
    """Beat, hourly: forget operations older than OPERATIONS_KEEP_DAYS (their effects stay recorded
    where they belong: messages, sends, events). Returns how many were deleted."""
    return registry.operations_prune(older_than=timedelta(days=settings.OPERATIONS_KEEP_DAYS))
