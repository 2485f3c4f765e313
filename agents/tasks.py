"""The agent hook's task for the general worker."""

from __future__ import annotations

from celery import shared_task

from agents import services


@shared_task(name="agents.hook_call", ignore_result=True)
def hook_call(*, message_id: int) -> None:
    """Ask the account's agent hook about one admitted message (once: see services.message_answer)."""
    services.message_answer(message_id=message_id)
