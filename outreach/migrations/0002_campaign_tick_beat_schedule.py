"""The beat schedule of the campaign tick (planning, queueing, the scrape watchdog): every 10 seconds."""

from __future__ import annotations

from django.db import migrations

from crm import beat

NAME = "outreach: campaign tick"


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0001_audiences_scraping_campaigns_warmup"),
        beat.BEAT_MIGRATION,
    ]

    operations = [beat.every(NAME, "outreach.campaigns_tick", 10, "seconds")]
