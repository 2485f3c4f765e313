from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from crm import health, throttle
from crm.forms import LoginForm


class LoginView(auth_views.LoginView):
    """Django's login, slowed down per username and address while guesses keep failing (crm.forms)."""

    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        return throttle.throttled_status(super().post(request, *args, **kwargs))


def home(request: HttpRequest) -> HttpResponse:
    return redirect("inbox:index")


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Public liveness: the web process answers. Touches no database or broker, so it is cheap to ask."""
    return JsonResponse({"ok": True})


@login_not_required
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: can this process reach PostgreSQL, Redis and the broker? Needs HEALTH_TOKEN when set."""
    if settings.HEALTH_TOKEN and not _bearer_matches(request, settings.HEALTH_TOKEN):
        return JsonResponse({"ok": False, "error": "token required"}, status=403)
    result = health.readiness()
    return JsonResponse(result, status=200 if result["ok"] else 503)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
