"""Webhook tasks on the general worker: thin, by id."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from webhooks import delivery
from webhooks.models import Endpoint
from webhooks.services import events_prune


@shared_task(name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver(*, delivery_ids: list[int]) -> int:
    """The fast path, queued when deliveries commit: claim the ones still due and send them."""
    claimed = delivery.claim(delivery_ids=delivery_ids)
    for delivery_id in claimed:
        delivery.send_claimed(delivery_id)
    return len(claimed)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """Beat, every few seconds: send every due delivery (retries, and whatever the fast path missed),
    batch by batch until none is due."""
    sent = 0
    while claimed := delivery.claim():
        for delivery_id in claimed:
            delivery.send_claimed(delivery_id)
        sent += len(claimed)
    return sent


@shared_task(name="webhooks.endpoint_alert", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def endpoint_alert(*, endpoint_id: int, reason: str) -> None:
    """POST "an endpoint was disabled" to ALERT_WEBHOOK_URL (its id, description, host, reason; never
    the full URL, which may carry a token, nor its secret)."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not settings.ALERT_WEBHOOK_URL:
        return
    if not settings.ALERT_WEBHOOK_URL.startswith(("https://", "http://")):
        raise ValueError("ALERT_WEBHOOK_URL must be an http(s) URL")
    body = json.dumps(
        {
            "webhook_endpoint_id": endpoint.pk,
            "description": endpoint.description,
            "host": urllib.parse.urlsplit(endpoint.url).hostname or "",
            "status": "webhook_disabled",
            "reason": reason,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        settings.ALERT_WEBHOOK_URL, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - scheme checked above
        pass


@shared_task(name="webhooks.prune")
def prune() -> int:
    """Beat, hourly: forget events older than WEBHOOK_KEEP_DAYS that nothing still waits to send."""
    return events_prune(older_than=timedelta(days=settings.WEBHOOK_KEEP_DAYS))
