"""The beat schedule of the webhook sweep (every 5 seconds) and of the event prune (every hour)."""

from __future__ import annotations

from django.db import migrations

SWEEP = "webhooks: send due deliveries"
PRUNE = "webhooks: prune old events"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    seconds, _ = IntervalSchedule.objects.get_or_create(every=5, period="seconds")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(name=SWEEP, defaults={"task": "webhooks.sweep", "interval": seconds})
    PeriodicTask.objects.get_or_create(name=PRUNE, defaults={"task": "webhooks.prune", "interval": hourly})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[SWEEP, PRUNE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_endpoints_events_deliveries"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
