from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser
from django.db import models

from crm import live


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
        rights_changed = self._rights_changed(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
        if rights_changed:
            # Their open pages reconnect and stream what the new role (or none) may see.
            live.user_rights_changed([self.pk])

    def _rights_changed(self, update_fields: Iterable[str] | None) -> bool:
        if self.pk is None or (update_fields is not None and not {"role", "is_active"} & set(update_fields)):
            return False  # a new user has no open page; a login's last_login save changes no right
        before = type(self).objects.filter(pk=self.pk).values_list("role", "is_active").first()
        return before is not None and before != (self.role, self.is_active)
