"""What the team records about a person beyond Telegram's own data: admin-defined custom fields and each
contact's values. The person is ``inbox.models.Contact`` (one row per Telegram user, shared by every
account)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from inbox.models import Contact


class CustomField(models.Model):
    """A field admins define for every contact: text, number, date or one of a list of choices."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    name = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class FieldValue(models.Model):
    """One contact's value of one custom field, stored in its canonical text form (numbers without
    leading zeros, dates as YYYY-MM-DD), so filters compare exactly what the panel shows."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=500)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "field"], name="fieldvalue_unique")]
        # The contacts page filters by (field, value).
        indexes = [models.Index(fields=["field", "value"], name="fieldvalue_lookup")]

    def __str__(self) -> str:
        return f"{self.field_id}={self.value} for contact {self.contact_id}"
