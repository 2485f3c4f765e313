"""A Celery app of one task, configured like Switchboard's own (crm.settings), on the broker in
NAPS_BROKER_URL: for tests that restart a broker of their own (tests/crm/test_broker_restart.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery

# Not the current app: importing this module in a test process must leave crm's app the one that
# shared tasks and AsyncResult use there.
app = Celery("naps", set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.broker_url = os.environ.get("NAPS_BROKER_URL", "")
app.conf.result_backend = None  # a nap leaves a file behind instead


@app.task
def nap(seconds: float, mark: str) -> None:
    time.sleep(seconds)
    Path(mark).touch()
