from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_lease_revoking"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accountevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("imported", "Imported"),
                    ("status", "Status changed"),
                    ("validated", "Validated"),
                    ("login_code_requested", "Login code requested"),
                    ("login_code_submitted", "Login code submitted"),
                    ("login_password_submitted", "Login password submitted"),
                    ("login_failed", "Login failed"),
                    ("paused", "Outreach paused"),
                    ("resumed", "Outreach resumed"),
                    ("proxy_changed", "Proxy changed"),
                    ("operators_changed", "Operators changed"),
                    ("joined", "Joined a chat"),
                    ("left", "Left a chat"),
                    ("inbox_backfill_queued", "Inbox backfill queued"),
                    ("inbox_backfilled", "Inbox backfilled"),
                    ("service_notification", "Service notification"),
                ],
                max_length=40,
            ),
        ),
    ]
