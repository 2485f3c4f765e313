from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from crm import throttle
from crm.forms import AdminLoginForm


class SwitchboardAdminSite(admin.AdminSite):
    """Django admin, for Switchboard admins only (the role decides, not is_staff)."""

    site_header = "Switchboard admin"
    site_title = "Switchboard"
    # The admin's own login page is a way in too: same throttle as ours.
    login_form = AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_admin", False))

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:  # type: ignore[type-arg]
        return throttle.throttled_status(super().login(request, extra_context))
