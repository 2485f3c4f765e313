"""The beat schedule of task reminders: every 15 seconds, so a reminder comes at most that late."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "inbox: remind due tasks"


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0013_tasks_and_notifications"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "inbox.tasks_remind_due", 15, "seconds")]
