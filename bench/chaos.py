"""The chaos run: 3 session hosts and 300 accounts under an inbound storm, a campaign and operator
replies, while hosts are killed (-9) and paused past their lease, tgsim drops connections and answers
FLOOD_WAIT, and PostgreSQL, Redis and RabbitMQ restart once each. Then it counts what was lost.

Run:  .venv/bin/python bench/chaos.py [--minutes 10] [--accounts 300] [--hosts 3] [--kill-every 60]
Starts private PostgreSQL, Redis and RabbitMQ instances of its own (never the shared ones; docs/chaos.md),
tgsim in a thread of this process, and real session hosts and a worker. Prints the table; exits 1 when a
counter that must be zero is not. ``--json PATH`` also writes the report (the test suite reads it).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from support import ROOT

from tests.support.chaos.counting import Report
from tests.support.chaos.scenario import Plan, run


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the faults and traffic")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between two kill -9s")
    parser.add_argument("--settle", type=float, default=120.0, help="at most this long for the end state")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    # A SIGTERM (the test's timeout) unwinds like an error: hosts stopped, private services removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    seconds = args.minutes * 60
    plan = Plan(
        seconds=seconds,
        accounts=args.accounts,
        hosts=args.hosts,
        kill_every=args.kill_every,
        recipients=min(args.accounts, max(30, int(seconds / 2))),
        senders=max(5, args.accounts // 10),
        settle=args.settle,
    )
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {line}", flush=True)

    def counted(report: Report) -> None:
        # Written before the hosts and private services stop: the test reads it as soon as it is there.
        if args.json:
            partial = args.json.with_suffix(".partial")
            partial.write_text(json.dumps({**report.as_dict(), "seconds": time.monotonic() - started}))
            partial.replace(args.json)

    say(f"chaos run: {plan}")
    report = run(plan, logs=ROOT / "var" / "bench" / "chaos", say=say, counted=counted)
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    print(report.table())
    print(f"total {time.monotonic() - started:.0f} s; load average {' '.join(load)}")
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
