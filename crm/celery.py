"""The Celery app shared by the session hosts, the general worker and beat."""

from __future__ import annotations

import os

import click
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["crm", "accounts", "inbox", "outreach", "automation", "agents", "webhooks"])
# Account commands (accounts.registry) register their tasks when their modules are imported.
app.autodiscover_tasks(["accounts", "inbox", "outreach"], related_name="commands")

# `celery -A crm worker --pool threads --session-host` hosts Telegram sessions (accounts.host).
app.user_options["worker"].add(
    click.Option(
        ["--session-host"], is_flag=True, default=False, help="Host Telegram sessions in this worker."
    )
)
app.steps["worker"].add("accounts.host.bootstep:SessionHostStep")
app.steps["consumer"].add("accounts.host.bootstep:SessionHostQueues")
