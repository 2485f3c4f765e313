"""Deals around the inbox's contacts: admin-defined stages, one open deal per contact, every move kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbox.models import Contact

# Fourteen digits with two after the point: up to 999,999,999,999.99, past any deal and inside what a
# Decimal column sums without overflow across a whole column of the board.
VALUE_DIGITS = 14
VALUE_PLACES = 2


class Stage(models.Model):
    """A column of the board. Deals in a won or lost stage are closed; the rest are open."""

    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN


class Deal(models.Model):
    """What the team hopes to close with one contact. ``closed_at`` follows the stage's kind, so the
    database itself holds the rule "one open deal per contact"."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deals")
    title = models.CharField(max_length=200)
    value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, default=0)
    currency = models.CharField(max_length=3, default="USD")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    expected_close = models.DateField(null=True, blank=True)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(closed_at__isnull=True), name="deal_one_open_per_contact"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="deal_value_not_negative"),
        ]
        indexes = [models.Index(fields=["stage", "-updated_at"])]

    def __str__(self) -> str:
        return self.title


class DealMove(models.Model):
    """One change of stage (the first row, without ``from_stage``, is the deal's creation). Stage names
    are kept beside the keys so the history still reads after a stage is renamed or deleted."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="moves")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_name = models.CharField(max_length=60, blank=True)
    to_name = models.CharField(max_length=60)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["deal", "-at"])]

    def __str__(self) -> str:
        return f"{self.from_name or 'new'} → {self.to_name}"
