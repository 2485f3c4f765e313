from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from crm import throttle
from crm.celery import app as celery_app
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
    """Public liveness: is the database, Redis and at least one Celery worker reachable?"""
    checks = {"database": _check_database(), "redis": _check_redis(), "workers": _check_workers()}
    healthy = checks["database"]["ok"] and checks["redis"]["ok"]
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)


def _check_database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as error:  # health checks report every failure rather than raising
        return {"ok": False, "error": type(error).__name__}


def _check_redis() -> dict[str, object]:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
        return {"ok": True}
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}


def _check_workers() -> dict[str, object]:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception as error:
        return {"ok": False, "count": 0, "error": type(error).__name__}
    return {"ok": bool(replies), "count": len(replies)}
