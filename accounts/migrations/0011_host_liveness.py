from __future__ import annotations

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Leases live and die with their holder's liveness row instead of an expiry of their own. Stop every
    session host before migrating: leases are freed here, and hosts of the previous release would keep
    renewing expiries that no longer exist."""

    dependencies = [
        ("accounts", "0010_read_on_telegram"),
    ]

    operations = [
        migrations.CreateModel(
            name="HostLiveness",
            fields=[
                ("holder", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("beat_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RemoveField(
            model_name="lease",
            name="expires_at",
        ),
        migrations.RunSQL(
            "UPDATE accounts_lease SET holder = '', revoking = false WHERE holder <> ''",
            migrations.RunSQL.noop,
        ),
    ]
