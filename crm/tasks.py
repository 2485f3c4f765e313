from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task
def ping_database(token: str) -> dict[str, object]:
    """Round-trip probe for health checks and tests: proves a worker reaches PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), %s", [token])
        database, echoed = cursor.fetchone()
    return {"database": database, "token": echoed}
