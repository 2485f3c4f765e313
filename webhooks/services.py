"""Writes about webhook endpoints: create, edit, rotate the secret, enable and disable, replay, test.

A secret is ``whsec_`` and 32 random bytes in base64 (Standard Webhooks' form), sealed with crm.vault the
moment it exists and returned once, to the admin who made it.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from crm import netguard, vault
from crm.parsing import text_problem
from crm.prune import delete_in_batches
from webhooks.events import EVENT_TYPES, TEST_EVENT, NewEvent, deliveries_kick, events_record
from webhooks.models import Delivery, Endpoint, Event

log = logging.getLogger(__name__)

MAX_URL = 2048
ROTATION_OVERLAP = timedelta(days=1)


class EndpointError(ValueError):
    """A request about an endpoint that cannot work as given; the message is plain words."""


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def url_check(url: str) -> str:
    """The URL as stored, or EndpointError: https:// (http:// only where private targets are allowed),
    at most 2,048 characters, no control characters, a host that resolves to allowed addresses."""
    url = (url or "").strip()
    if not url:
        raise EndpointError("Enter the endpoint's URL")
    if len(url) > MAX_URL:
        raise EndpointError(f"The URL is longer than {MAX_URL} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        raise EndpointError("The URL contains control characters")
    try:
        netguard.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except (netguard.Refused, netguard.Unresolvable) as problem:
        raise EndpointError(str(problem)) from None
    return url


def _clean(*, url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    url = url_check(url)
    description = (description or "").strip()
    if problem := text_problem(description, max_length=255):
        raise EndpointError(f"Description: {problem}")
    types = sorted(set(event_types))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise EndpointError(f"Unknown event type: {', '.join(unknown)[:200]}")
    return url, description, types


def endpoint_create(
    *,
    url: str,
    description: str = "",
    event_types: Iterable[str] = (),
    account: Account | None = None,
    by: Any = None,
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret; the secret is returned once and otherwise only kept sealed."""
    url, description, types = _clean(url=url, description=description, event_types=event_types)
    secret = secret_new()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            url=url,
            description=description,
            event_types=types,
            account=account,
            secret_sealed=b"",
            created_by=by if getattr(by, "pk", None) else None,
        )
        endpoint.secret_sealed = vault.seal(secret.encode(), context=endpoint.secret_context())
        endpoint.save(update_fields=["secret_sealed"])
    log.info("webhook endpoint %s created by %s", endpoint.pk, getattr(by, "pk", None))
    return endpoint, secret


def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str,
    description: str,
    event_types: Iterable[str],
    account: Account | None,
    by: Any = None,
) -> Endpoint:
    """Change where and what an endpoint receives; its secret stays."""
    url, description, types = _clean(url=url, description=description, event_types=event_types)
    endpoint.url, endpoint.description, endpoint.event_types, endpoint.account = (
        url,
        description,
        types,
        account,
    )
    endpoint.save(update_fields=["url", "description", "event_types", "account"])
    log.info("webhook endpoint %s edited by %s", endpoint.pk, getattr(by, "pk", None))
    return endpoint


def endpoint_rotate(*, endpoint_id: int, by: Any = None) -> tuple[Endpoint, str]:
    """A new secret, returned once. The old one keeps signing beside it for a day (both signatures in
    ``webhook-signature``), so the receiver can switch without losing a delivery."""
    secret = secret_new()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        old = vault.unseal(bytes(endpoint.secret_sealed), context=endpoint.secret_context())
        endpoint.previous_secret_sealed = vault.seal(old, context=endpoint.previous_secret_context())
        endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        endpoint.secret_sealed = vault.seal(secret.encode(), context=endpoint.secret_context())
        endpoint.save(update_fields=["secret_sealed", "previous_secret_sealed", "previous_secret_expires_at"])
    log.info("webhook endpoint %s secret rotated by %s", endpoint_id, getattr(by, "pk", None))
    return endpoint, secret


def endpoint_disable(*, endpoint_id: int, reason: str, alert: bool = False, by: Any = None) -> bool:
    """Stop sending to the endpoint; its pending deliveries wait as "disabled" (replayable). ``alert``:
    Switchboard disabled it by itself, so admins are told. False if it was disabled already."""
    now = timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint_id, enabled=True).update(
            enabled=False, disabled_reason=reason[:255], disabled_at=now
        )
        if not changed:
            return False
        Delivery.objects.filter(endpoint_id=endpoint_id, state=Delivery.State.PENDING).update(
            state=Delivery.State.DISABLED, next_attempt_at=None, updated_at=now
        )
        if alert:
            transaction.on_commit(lambda: alert_send(endpoint_id=endpoint_id, reason=reason))
    log.warning(
        "webhook endpoint %s disabled: %s (by %s)", endpoint_id, reason, getattr(by, "pk", "Switchboard")
    )
    return True


def endpoint_enable(*, endpoint_id: int, by: Any = None) -> bool:
    """Send to the endpoint again. Deliveries it missed while disabled stay disabled: replay them."""
    changed = Endpoint.objects.filter(pk=endpoint_id, enabled=False).update(
        enabled=True, disabled_reason="", disabled_at=None, failing_since=None
    )
    if changed:
        log.info("webhook endpoint %s enabled by %s", endpoint_id, getattr(by, "pk", None))
    return bool(changed)


def endpoint_delete(*, endpoint_id: int, by: Any = None) -> None:
    Endpoint.objects.filter(pk=endpoint_id).delete()
    log.info("webhook endpoint %s deleted by %s", endpoint_id, getattr(by, "pk", None))


def delivery_replay(*, delivery_id: int, by: Any = None) -> Delivery:
    """Send the delivery's event to its endpoint again, now: same webhook-id, a fresh retry schedule."""
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
        if not delivery.endpoint.enabled:
            raise EndpointError("The endpoint is disabled: enable it first")
        if delivery.state == Delivery.State.PENDING and delivery.attempts == 0:
            raise EndpointError("This delivery has not been tried yet; it goes out shortly")
        delivery.state, delivery.attempts, delivery.next_attempt_at = Delivery.State.PENDING, 0, now
        delivery.updated_at = now
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
        transaction.on_commit(lambda: deliveries_kick([delivery_id]))
    log.info("webhook delivery %s replayed by %s", delivery_id, getattr(by, "pk", None))
    return delivery


def test_event_send(*, endpoint: Endpoint, by: Any = None) -> Delivery:
    """A ``webhook.test`` event to this endpoint only (whatever its filters), sent at once."""
    if not endpoint.enabled:
        raise EndpointError("The endpoint is disabled: enable it first")
    payload = {"message": "A test event from Switchboard", "endpoint_id": endpoint.pk}
    with transaction.atomic():
        [event] = events_record([NewEvent(type=TEST_EVENT, payload=payload)], endpoints=[endpoint])
        delivery = Delivery.objects.get(event=event, endpoint=endpoint)
    return delivery


def alert_send(*, endpoint_id: int, reason: str) -> None:
    """Tell admins Switchboard disabled an endpoint: the log always, ALERT_WEBHOOK_URL when set (the
    console shows it on the webhooks page and as a badge in the menu)."""
    log.warning("webhook endpoint %s disabled and needs attention: %s", endpoint_id, reason)
    if settings.ALERT_WEBHOOK_URL:
        from webhooks.tasks import endpoint_alert

        endpoint_alert.delay(endpoint_id=endpoint_id, reason=reason)


def events_prune(*, older_than: timedelta, batch: int = 5000) -> int:
    """Delete events (with their deliveries and attempts) created before ``older_than`` ago, except
    those with a delivery still pending, in batches (no long lock)."""
    cutoff = timezone.now() - older_than
    old = Event.objects.filter(created_at__lt=cutoff).exclude(deliveries__state=Delivery.State.PENDING)
    return delete_in_batches(old, batch=batch)
