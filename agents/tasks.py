"""The agent hook's task for the general worker."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from agents import services


@shared_task(name="agents.hook_call", ignore_result=True)
def hook_call(*, message_id: int) -> None:
    """Ask the account's agent hook about one admitted message (once: see services.message_answer)."""
    services.message_answer(message_id=message_id)


@shared_task(name="agents.calls_prune")
def calls_prune() -> int:
    """Beat, hourly: forget delivery log rows older than AGENT_HOOK_LOG_KEEP_DAYS."""
    return services.calls_prune(older_than=timedelta(days=settings.AGENT_HOOK_LOG_KEEP_DAYS))
