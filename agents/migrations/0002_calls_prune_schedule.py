"""The beat schedule of the agent hook's delivery log prune: every hour."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "agents: prune the agent hooks' delivery logs"


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "agents.calls_prune", 1, "hours")]
