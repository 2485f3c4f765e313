from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_auth_key_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="lease",
            name="revoking",
            field=models.BooleanField(default=False),
        ),
    ]
