"""Beat schedules that ship with Switchboard, each created by a data migration of its app.

``every(name, task, count, period)`` is that migration's operation: it creates the periodic task (once:
an admin's later change to it is kept) and removes it when the migration is reversed.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# What a schedule's migrations depend on: the django-celery-beat tables as they are now.
BEAT_MIGRATION = ("django_celery_beat", "0019_alter_periodictasks_options")


def every(name: str, task: str, count: int, period: str) -> migrations.RunPython:
    """Run ``task`` every ``count`` ``period`` ("seconds", "minutes", "hours") under ``name``."""

    def schedule(apps: Any, schema_editor: Any) -> None:
        interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
            every=count, period=period
        )
        apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval}
        )

    def unschedule(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return migrations.RunPython(schedule, unschedule)
