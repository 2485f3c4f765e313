from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class SwitchboardAdminSite(admin.AdminSite):
    """Django admin, for Switchboard admins only (the role decides, not is_staff)."""

    site_header = "Switchboard admin"
    site_title = "Switchboard"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_admin", False))
