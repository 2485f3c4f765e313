"""Webhook tasks on the general worker: thin, by id."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.db import connection

from accounts.alerts import alert_post
from webhooks import delivery
from webhooks.models import Endpoint
from webhooks.services import events_prune

log = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver(*, delivery_ids: list[int]) -> int:
    """The fast path, queued when deliveries commit: claim the ones still due and send them."""
    claimed = delivery.claim(delivery_ids=delivery_ids)
    _send(claimed)
    return len(claimed)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """Beat, every few seconds: send every due delivery (retries, and whatever the fast path missed),
    batch by batch until none is due."""
    sent = 0
    while claimed := delivery.claim():
        _send(claimed)
        sent += len(claimed)
    return sent


def _send(claimed: list[int]) -> None:
    """Send claimed deliveries a few at a time, so one slow endpoint (up to WEBHOOK_TIMEOUT per attempt)
    does not hold up the rest of the batch."""
    if len(claimed) == 1 or settings.WEBHOOK_SEND_THREADS <= 1:
        for delivery_id in claimed:
            _send_one(delivery_id, own_connection=False)
        return
    with ThreadPoolExecutor(max_workers=settings.WEBHOOK_SEND_THREADS) as pool:
        list(pool.map(_send_one, claimed))


def _send_one(delivery_id: int, own_connection: bool = True) -> None:
    try:
        delivery.send_claimed(delivery_id)
    except Exception:
        # One delivery that cannot be sent must not hold up the others; its claim runs out and it is
        # tried again later.
        log.exception("webhooks: delivery %s could not be sent", delivery_id)
    finally:
        if own_connection:
            connection.close()  # the pool's thread opened it


@shared_task(name="webhooks.endpoint_alert", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def endpoint_alert(*, endpoint_id: int, reason: str) -> None:
    """POST "an endpoint was disabled" to ALERT_WEBHOOK_URL (its id, description, host, reason; never
    the full URL, which may carry a token, nor its secret)."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not settings.ALERT_WEBHOOK_URL:
        return
    alert_post(
        {
            "webhook_endpoint_id": endpoint.pk,
            "description": endpoint.description,
            "host": urlsplit(endpoint.url).hostname or "",
            "status": "webhook_disabled",
            "reason": reason,
        }
    )


@shared_task(name="webhooks.prune")
def prune() -> int:
    """Beat, hourly: forget events older than WEBHOOK_KEEP_DAYS that nothing still waits to send."""
    return events_prune(older_than=timedelta(days=settings.WEBHOOK_KEEP_DAYS))
