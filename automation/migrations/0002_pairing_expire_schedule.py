"""The beat schedule of pairing expiry: every minute."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "automation: expire pairing requests"


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0001_initial"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "automation.pairing_expire", 1, "minutes")]
