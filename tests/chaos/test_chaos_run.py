"""The short chaos run (bench/chaos.py, about a minute of faults): nothing lost, nothing twice.

Heavy (3 session hosts, private PostgreSQL, Redis and RabbitMQ): `./switchboard test` runs it alone,
after the parallel suite (`./switchboard test -m chaos tests/chaos` runs just this). It runs in a process
of its own, because it sets Django up on its private services; the report comes back as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support.chaos.counting import Report
from tests.support.processes import ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

ACCOUNTS = os.environ.get("CHAOS_TEST_ACCOUNTS", "300")

FAULTS = (
    "hosts killed (kill -9)",
    "replacement hosts started",
    "hosts paused past the lease TTL (SIGSTOP)",
    "paused hosts resumed (SIGCONT)",
    "tgsim dropped every connection",
    "tgsim dropped an account's connections",
    "postgres restarted",
    "redis restarted",
    "rabbitmq restarted",
)


def chaos_run(*args: str, timeout: float) -> tuple[dict | None, str]:
    """bench/chaos.py with ``args``: its report, and the tail of what it printed. A run over ``timeout``
    gets SIGTERM, on which it still stops its hosts and removes its private services."""
    report = ROOT / "var" / f"chaos-report-{os.getpid()}.json"
    report.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "bench/chaos.py", *args, "--json", str(report)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # The report is written once counted, before the run stops its hosts and services: that cleanup (tens
    # of seconds on a loaded machine) is not the run's time.
    deadline = time.monotonic() + timeout
    while not report.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
    if not report.exists() and proc.poll() is None:
        proc.terminate()  # over time: it still stops its hosts and removes its private services
    output, _ = proc.communicate(timeout=120)  # what it prints fits the pipe: host logs go to files
    if not report.exists():
        output += f"\n(stopped after {timeout:.0f} s)"
    found = json.loads(report.read_text()) if report.exists() else None
    report.unlink(missing_ok=True)
    return found, output[-4000:]


def test_under_kills_pauses_drops_flood_waits_and_service_restarts_nothing_is_lost_or_sent_twice():
    report, tail = chaos_run(
        "--minutes", "0.75", "--accounts", ACCOUNTS, "--kill-every", "15", "--settle", "45", timeout=175
    )
    assert report is not None, tail
    zeros = {name: report[name] for name in Report.ZEROS}
    assert zeros == dict.fromkeys(zeros, 0), tail
    assert report["inbound_expected"] > 500 and report["outbound_sent"] > 20 and report["commands"] > 30, tail
    for fault in FAULTS:
        assert report["faults"].get(fault, 0) >= 1, f"{fault} never happened\n{tail}"
    assert report["faults"]["hosts killed (kill -9)"] >= 2, tail
    floods = sum(n for name, n in report["faults"].items() if name.startswith("tgsim answered FLOOD_WAIT"))
    assert floods >= 2, tail
