"""The short chaos run (bench/chaos.py, about a minute of faults): nothing lost, nothing twice.

Heavy (3 session hosts, private PostgreSQL, Redis and RabbitMQ): `./switchboard test` runs it on its own
after the parallel suite (`-m chaos`). It runs in a process of its own, because it sets Django up on its
private services; the report comes back as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

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


def test_under_kills_pauses_drops_flood_waits_and_service_restarts_nothing_is_lost_or_sent_twice(tmp_path):
    out = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "bench/chaos.py", "--minutes", "0.8", "--accounts", "300", "--kill-every", "15",
         "--settle", "40", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=175,
    )  # fmt: skip
    tail = (run.stdout + run.stderr)[-4000:]
    assert out.exists(), tail
    report = json.loads(out.read_text())
    zeros = {name: report[name] for name in ("inbound_lost", "inbound_duplicated", "outbound_duplicated",
                                              "commands_lost", "auth_key_duplicated")}  # fmt: skip
    assert zeros == dict.fromkeys(zeros, 0), tail
    assert report["inbound_expected"] > 1000 and report["outbound_sent"] > 20 and report["commands"] > 50, (
        tail
    )
    for fault in FAULTS:
        assert report["faults"].get(fault, 0) >= 1, f"{fault} never happened\n{tail}"
    assert report["faults"]["hosts killed (kill -9)"] >= 2
    assert sum(n for name, n in report["faults"].items() if name.startswith("tgsim answered FLOOD_WAIT")) >= 2
    assert run.returncode == 0, tail
