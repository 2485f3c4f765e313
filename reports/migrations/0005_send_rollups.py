"""Per-day rollups of campaign sends (``reports.models.SendDay``); triggers and fill in 0006."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_response_rollup_triggers"), ("outreach", "0005_send_read_at_replied_at")]

    operations = [
        migrations.CreateModel(
            name="SendDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("campaign_id", models.BigIntegerField()),
                ("step", models.SmallIntegerField()),
                ("variant", models.CharField(max_length=64)),
                ("account_id", models.BigIntegerField()),
                ("planned", models.IntegerField(default=0)),
                ("sent", models.IntegerField(default=0)),
                ("delivered", models.IntegerField(default=0)),
                ("read", models.IntegerField(default=0)),
                ("replied", models.IntegerField(default=0)),
                ("spam", models.IntegerField(default=0)),
                ("privacy", models.IntegerField(default=0)),
                ("deleted", models.IntegerField(default=0)),
                ("blocked", models.IntegerField(default=0)),
                ("failed", models.IntegerField(default=0)),
                ("example", models.TextField(null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=["day", "campaign_id", "step", "variant", "account_id"], name="send_day_key"
                    )
                ],
            },
        ),
    ]
