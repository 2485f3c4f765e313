"""Webhook endpoints, the events Switchboard records for them (an outbox), and each delivery's attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account
from crm import vault


class Endpoint(models.Model):
    """A URL that receives signed events (Standard Webhooks). Its secrets are sealed with crm.vault: the
    current one, and after a rotation the previous one until ``previous_secret_expires_at`` (both sign)."""

    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=255, blank=True)
    # Event types it wants (webhooks.events.EVENT_TYPES); empty means every type.
    event_types = models.JSONField(default=list, blank=True)
    # Only events about this account.
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last success: failing for days disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)

    secret_sealed = models.BinaryField(editable=False)
    previous_secret_sealed = models.BinaryField(null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url

    def secret_context(self) -> str:
        return f"webhook_secret:{self.pk}"

    def previous_secret_context(self) -> str:
        return f"webhook_secret_previous:{self.pk}"

    def wants(self, *, event_type: str, account_id: int | None) -> bool:
        """Whether an event of this type, about this account, is for this endpoint: an endpoint scoped
        to an account hears only about that account (not campaigns, which span several)."""
        if self.event_types and event_type not in self.event_types:
            return False
        return self.account_id is None or self.account_id == account_id


vault.register(model="webhooks.Endpoint", field="secret_sealed", context=Endpoint.secret_context)
vault.register(
    model="webhooks.Endpoint", field="previous_secret_sealed", context=Endpoint.previous_secret_context
)


class Event(models.Model):
    """Something that happened, recorded in the same transaction as the change it reports. The id is the
    Standard Webhooks ``webhook-id`` (``msg_…``): the same on every attempt and every endpoint."""

    id = models.CharField(primary_key=True, max_length=40)
    type = models.CharField(max_length=40)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()  # the "data" of the body
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class Delivery(models.Model):
    """One event for one endpoint, tried until a 2xx or the retry schedule runs out."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DISABLED = "disabled", "Endpoint disabled"

    # No index of their own: the unique (event, endpoint) and the (endpoint, created) indexes lead with them.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            # The sweep's query: pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"], name="delivery_due", condition=models.Q(state="pending")
            ),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → endpoint {self.endpoint_id}: {self.state}"


class Attempt(models.Model):
    """One HTTP request of a delivery, for the console's log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # the HTTP status, None if no answer
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # The start of the answer's body, for the console (control characters removed).
    response = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status or self.error}"
