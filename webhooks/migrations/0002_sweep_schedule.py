"""The beat schedule of the webhook sweep (every 5 seconds) and of the event prune (every hour)."""

from __future__ import annotations

from django.db import migrations

from crm import beat

SWEEP = "webhooks: send due deliveries"
PRUNE = "webhooks: prune old events"


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_endpoints_events_deliveries"),
        beat.BEAT_MIGRATION,
    ]

    operations = [
        beat.every(SWEEP, "webhooks.sweep", 5, "seconds"),
        beat.every(PRUNE, "webhooks.prune", 1, "hours"),
    ]
