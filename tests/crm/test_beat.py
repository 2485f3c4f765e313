"""The beat schedules Switchboard ships: created by migrations, each running a task that exists."""

from __future__ import annotations

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from crm import beat
from crm.celery import app

pytestmark = pytest.mark.django_db

SHIPPED = {
    "accounts: prune old operations": ("accounts.operations_prune", 1, "hours"),
    "outreach: campaign tick": ("outreach.campaigns_tick", 10, "seconds"),
    "automation: expire pairing requests": ("automation.pairing_expire", 1, "minutes"),
    "automation: prune old judgements": ("automation.judgements_prune", 1, "hours"),
    "agents: prune the agent hooks' delivery logs": ("agents.calls_prune", 1, "hours"),
    "webhooks: send due deliveries": ("webhooks.sweep", 5, "seconds"),
    "webhooks: prune old events": ("webhooks.prune", 1, "hours"),
}


def test_every_shipped_schedule_is_in_a_migrated_database_and_runs_a_registered_task():
    app.loader.import_default_modules()
    for name, (task, count, period) in SHIPPED.items():
        scheduled = PeriodicTask.objects.get(name=name)
        assert (scheduled.task, scheduled.interval.every, scheduled.interval.period) == (task, count, period)
        assert task in app.tasks, task


def test_a_schedule_is_made_once_keeps_an_admins_change_and_goes_when_reversed():
    operation = beat.every("test: a schedule", "webhooks.prune", 3, "minutes")
    operation.code(apps, None)
    PeriodicTask.objects.filter(name="test: a schedule").update(enabled=False)  # an admin paused it
    operation.code(apps, None)
    [scheduled] = PeriodicTask.objects.filter(name="test: a schedule")
    assert not scheduled.enabled and (scheduled.interval.every, scheduled.interval.period) == (3, "minutes")
    operation.reverse_code(apps, None)
    assert not PeriodicTask.objects.filter(name="test: a schedule").exists()
