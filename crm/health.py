"""Health checks: a liveness check that touches nothing, and a readiness check of the services we need.

Readiness opens connections to PostgreSQL, Redis and the broker, so its result is kept for a few seconds
per process: however often it is asked, it cannot be turned into load on those services.
"""

from __future__ import annotations

import threading
import time

import redis
from django.conf import settings
from django.db import connection

from crm.celery import app as celery_app

READINESS_CACHE_SECONDS = 5.0

_lock = threading.Lock()
_last: tuple[float, dict[str, object]] | None = None


def readiness() -> dict[str, object]:
    """{"ok", "database", "redis", "broker"}, at most READINESS_CACHE_SECONDS old."""
    global _last
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < READINESS_CACHE_SECONDS:
            return _last[1]
        checks = {"database": _check_database(), "redis": _check_redis(), "broker": _check_broker()}
        result: dict[str, object] = {"ok": all(check["ok"] for check in checks.values()), **checks}
        _last = (time.monotonic(), result)
        return result


def forget() -> None:
    """Drop the remembered result (tests that change a service's address call this)."""
    global _last
    with _lock:
        _last = None


def _check_database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as error:  # health checks report every failure rather than raising
        return {"ok": False, "error": type(error).__name__}


def _check_redis() -> dict[str, object]:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        return {"ok": True}
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}


def _check_broker() -> dict[str, object]:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
