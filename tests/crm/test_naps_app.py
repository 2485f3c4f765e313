"""The naps app of the broker-restart test stays out of the way of the test process's own Celery app."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import ROOT


def test_importing_the_naps_app_leaves_crms_app_current():
    # In a fresh interpreter: this process may have imported both already.
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'crm.settings'); django.setup()\n"
        "from crm.celery import app\n"
        "import tests.support.naps\n"
        "from celery import current_app\n"
        "print(current_app.main)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "crm"
