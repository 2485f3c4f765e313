"""The beat schedule of the judgements prune: every hour."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "automation: prune old judgements"


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0004_judgement_at"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "automation.judgements_prune", 1, "hours")]
