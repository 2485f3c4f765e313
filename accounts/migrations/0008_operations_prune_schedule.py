"""The beat schedule of the operations prune: every hour."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "accounts: prune old operations"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_operations"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "accounts.operations_prune", 1, "hours")]
