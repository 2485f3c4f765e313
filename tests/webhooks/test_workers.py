"""Deliveries through real processes: the fast path on a Celery worker, and a worker killed (kill -9)
between commit and delivery, after which the beat sweep delivers, exactly once per id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from crm.celery import app
from tests.support.processes import ROOT, celery_worker, process_env, stop, wait_for
from webhooks import services
from webhooks.events import NewEvent, events_record
from webhooks.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_TIMEOUT": "5"}


@pytest.fixture
def kick_queue():
    """This test's own queue for general-worker tasks (the fast path's kicks), in this process."""
    queue = f"test-hooks-{uuid.uuid4().hex[:10]}"
    before = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = before


def record_committed(text: str):
    with transaction.atomic():
        [event] = events_record([NewEvent(type="message.received", payload={"text": text})])
    return event


def log_has(path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


def test_the_fast_path_delivers_right_after_commit_without_a_sweep(
    receiver, private_allowed, kick_queue, tmp_path
):
    _, secret = services.endpoint_create(url=receiver.url)
    log = tmp_path / "worker.log"
    with celery_worker(queue=kick_queue, log_path=log, CELERY_DEFAULT_QUEUE=kick_queue, **WORKER_ENV):
        wait_for(lambda: log_has(log, "ready"), timeout=60, what="the worker")
        event = record_committed("fast")
        [request] = receiver.wait_for(1, timeout=20)
    assert request.id == event.pk and request.verifies_with(secret)
    assert Delivery.objects.get(event=event).state == "succeeded"


@pytest.fixture
def beat(tmp_path):
    """A real `celery beat` on the database scheduler, running only the webhook sweep, on its own queue."""
    queue = f"test-sweep-{uuid.uuid4().hex[:10]}"
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    PeriodicTask.objects.exclude(task="webhooks.sweep").update(enabled=False)
    PeriodicTask.objects.update_or_create(
        name="webhooks: send due deliveries",
        defaults={"task": "webhooks.sweep", "interval": every, "queue": queue, "enabled": True},
    )
    log = open(tmp_path / "beat.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "beat", "--loglevel", "INFO",
         "-S", "django_celery_beat.schedulers:DatabaseScheduler"],
        cwd=ROOT, env=process_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield queue
    finally:
        stop(proc)
        log.close()


def test_a_worker_killed_between_commit_and_delivery_leaves_it_to_the_sweep_exactly_once(
    receiver, private_allowed, kick_queue, beat, tmp_path
):
    _, secret = services.endpoint_create(url=receiver.url)
    log = tmp_path / "doomed.log"
    with celery_worker(queue=kick_queue, log_path=log, CELERY_DEFAULT_QUEUE=kick_queue, **WORKER_ENV) as (
        _,
        doomed,
    ):
        wait_for(lambda: log_has(log, "ready"), timeout=60, what="the worker")
        # Frozen, the worker still takes the kick from the broker (prefetch) but never runs it.
        os.kill(doomed.pid, signal.SIGSTOP)
        event = record_committed("killed")
        time.sleep(1)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    assert receiver.requests == []
    row = Delivery.objects.get(event=event)
    assert (row.state, row.attempts) == ("pending", 0)

    # The sweep (beat → a worker on the sweep's queue) delivers it.
    sweeper_log = tmp_path / "sweeper.log"
    with celery_worker(queue=beat, log_path=sweeper_log, **WORKER_ENV):
        [request] = receiver.wait_for(1, timeout=60)
        assert request.id == event.pk and request.verifies_with(secret)
        wait_for(lambda: Delivery.objects.get(event=event).state == "succeeded", timeout=10, what="success")
    # The kick the dead worker held went back to its queue; a new worker runs it: nothing is sent again.
    again_log = tmp_path / "again.log"
    with celery_worker(queue=kick_queue, log_path=again_log, **WORKER_ENV):
        wait_for(lambda: log_has(again_log, "webhooks.deliver"), timeout=60, what="the redelivered kick")
        wait_for(lambda: log_has(again_log, "succeeded"), timeout=30, what="the redelivered kick to finish")
    assert receiver.ids() == [event.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("succeeded", 1)
