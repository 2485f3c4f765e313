"""The automation app's tasks for the general worker."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from automation import pairing, services


@shared_task(
    name="automation.messages_judge",
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=8,
)
def messages_judge(message_ids: list[int]) -> int:
    """Judge messages the inbox just stored (sent after the storing transaction commits). A database
    error (a deadlock, a lost connection) runs it again: each message is judged in its own transaction
    under its Judgement claim, so what was judged before the error is skipped and nothing is lost."""
    return services.messages_judge(message_ids=message_ids)


@shared_task(name="automation.pairing_expire")
def pairing_expire() -> int:
    """Beat, every minute: pending pairing requests past their time expire."""
    return pairing.pairing_expire()


@shared_task(name="automation.judgements_prune")
def judgements_prune() -> int:
    """Beat, hourly: forget judgements older than a day."""
    return services.judgements_prune()
