from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person using Switchboard. Admins run the fleet; operators work the inbox of granted accounts."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        OPERATOR = "operator", "Operator"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    # When the user last made a request (an open page's stream counts: it reconnects every few minutes);
    # "online" for auto-assignment is seen within USER_ONLINE_MINUTES (crm.presence).
    last_seen_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == self.Role.ADMIN

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Django admin and its permission checks follow the role; nobody edits is_staff by hand.
        self.is_staff = self.is_superuser = self.role == self.Role.ADMIN
        super().save(*args, **kwargs)
