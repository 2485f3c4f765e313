"""Per-day message rollups (``reports.models``); their triggers and first fill are in 0002."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("inbox", "0009_automation_marks")]

    operations = [
        migrations.CreateModel(
            name="ConversationDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("conversation_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("account_id", models.BigIntegerField()),
                ("inbound", models.IntegerField(default=0)),
                ("outbound", models.IntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["day"], include=["account_id", "conversation_id", "inbound", "outbound"],
                                 name="conversation_day_day")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=["conversation_id", "day"], name="conversation_day_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="OperatorDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("account_id", models.BigIntegerField()),
                ("operator_id", models.BigIntegerField(null=True)),
                ("outbound", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=["day", "account_id", "operator_id"], name="operator_day_key",
                                            nulls_distinct=False)
                ],
            },
        ),
    ]
