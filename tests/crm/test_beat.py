"""The beat schedules Switchboard ships: created by migrations, each running a task that exists."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from crm import beat
from crm.celery import app

pytestmark = pytest.mark.django_db

SHIPPED = {
    "accounts.migrations.0008_operations_prune_schedule": [("accounts.operations_prune", 1, "hours")],
    "outreach.migrations.0002_campaign_tick_beat_schedule": [("outreach.campaigns_tick", 10, "seconds")],
    "automation.migrations.0002_pairing_expire_schedule": [("automation.pairing_expire", 1, "minutes")],
    "automation.migrations.0005_judgements_prune_schedule": [("automation.judgements_prune", 1, "hours")],
    "agents.migrations.0002_calls_prune_schedule": [("agents.calls_prune", 1, "hours")],
    "inbox.migrations.0014_tasks_remind_schedule": [("inbox.tasks_remind_due", 15, "seconds")],
    "webhooks.migrations.0002_sweep_schedule": [
        ("webhooks.sweep", 5, "seconds"),
        ("webhooks.prune", 1, "hours"),
    ],
}


def test_every_shipped_schedule_runs_a_registered_task():
    # Applied here: a transactional test before this one may have flushed what the migrations made.
    app.loader.import_default_modules()
    for module, expected in SHIPPED.items():
        PeriodicTask.objects.all().delete()
        for operation in importlib.import_module(module).Migration.operations:
            operation.code(apps, None)
        made = [(t.task, t.interval.every, t.interval.period) for t in PeriodicTask.objects.order_by("id")]
        assert made == expected, module
        assert all(task in app.tasks for task, _, _ in made), module


def test_a_schedule_is_made_once_keeps_an_admins_change_and_goes_when_reversed():
    operation = beat.every("test: a schedule", "webhooks.prune", 3, "minutes")
    operation.code(apps, None)
    PeriodicTask.objects.filter(name="test: a schedule").update(enabled=False)  # an admin paused it
    operation.code(apps, None)
    [scheduled] = PeriodicTask.objects.filter(name="test: a schedule")
    assert not scheduled.enabled and (scheduled.interval.every, scheduled.interval.period) == (3, "minutes")
    operation.reverse_code(apps, None)
    assert not PeriodicTask.objects.filter(name="test: a schedule").exists()
