"""Per-day rollups of the reporting events (``reports.models.ResponseDay``); triggers and fill in 0004."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_message_rollup_triggers")]

    operations = [
        migrations.CreateModel(
            name="ResponseDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                (
                    "dimension",
                    models.CharField(
                        choices=[("account", "Account"), ("operator", "Operator"), ("label", "Label")], max_length=8
                    ),
                ),
                ("key", models.BigIntegerField(null=True)),
                ("account_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=16)),
                ("automated", models.BooleanField()),
                ("n", models.IntegerField(default=0)),
                (
                    "seconds",
                    django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), default=list, size=None),
                ),
                (
                    "business_seconds",
                    django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), default=list, size=None),
                ),
                (
                    "seconds_buckets",
                    django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None),
                ),
                (
                    "business_buckets",
                    django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["dimension", "day"], name="response_day_dimension_day")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=["day", "dimension", "key", "account_id", "kind", "automated"],
                        name="response_day_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
    ]
