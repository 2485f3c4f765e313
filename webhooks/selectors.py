"""Reads for the webhooks console."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from webhooks.models import Delivery, Endpoint


def endpoint_list() -> QuerySet[Endpoint]:
    """Every endpoint with its pending and failed delivery counts."""
    return (
        Endpoint.objects.select_related("account")
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__state=Delivery.State.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__state=Delivery.State.FAILED)),
        )
        .order_by("id")
    )


def delivery_list(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    """The endpoint's deliveries, latest first, with their event and attempts."""
    return (
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")
    )


def disabled_count() -> int:
    """Endpoints Switchboard (or an admin) disabled: the nav badge."""
    return Endpoint.objects.filter(enabled=False).count()
