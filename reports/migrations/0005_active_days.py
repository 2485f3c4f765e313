"""The conversations active per account, assignee and day by their previous active day, with their
inbound messages (``reports.models.ActiveDay``); triggers and fill in 0006."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_response_rollup_triggers")]

    operations = [
        migrations.CreateModel(
            name="ActiveDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account_id", models.BigIntegerField()),
                ("assignee_id", models.BigIntegerField(null=True)),
                ("day", models.DateField()),
                ("previous", models.DateField(null=True)),
                ("conversations", models.IntegerField(default=0)),
                ("inbound", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=["account_id", "assignee_id", "day", "previous"],
                        name="active_day_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
    ]
