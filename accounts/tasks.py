"""The accounts app's tasks for the general worker (account commands are in accounts.commands, the alert
webhook in accounts.alerts)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts import outgoing, registry


@shared_task(name="accounts.operations_prune")
def operations_prune() -> int:
    """Beat, hourly: forget operations older than OPERATIONS_KEEP_DAYS (their effects stay recorded
    where they belong: messages, sends, events), and the files their sends carried. Returns how many
    operations were deleted."""
    keep = timedelta(days=settings.OPERATIONS_KEEP_DAYS)
    outgoing.outgoing_files_prune(older_than=keep)
    return registry.operations_prune(older_than=keep)
