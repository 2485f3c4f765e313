"""The chaos run's Switchboard processes: session hosts it kills, pauses and replaces, and one worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _celery(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", *args,
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


class Hosts:
    """Session host processes, numbered in the order they started (h1, h2, ...)."""

    def __init__(self, *, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen] = []
        self.paused: set[int] = set()
        self.started = 0
        self.worker: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.started += 1
        name = f"h{self.started}"
        proc = _celery(
            ["--pool", "threads", "--concurrency", "8", "-Q", f"chaos-{name}", "--session-host",
             "--hostname", f"chaos-{name}@%h"],
            env=self.env, log=self.logs / f"host-{name}.log",
        )  # fmt: skip
        self.running.append(proc)
        return proc

    def start_worker(self) -> None:
        """The general worker (campaign ticks, alerts, automation): its default queue, one at a time."""
        self.worker = _celery(["--pool", "solo"], env=self.env, log=self.logs / "worker.log")

    @staticmethod
    def holding(holders: list[str]) -> Counter[int]:
        """Accounts per host pid, from lease holders ("<celery hostname>/<pid>/<nonce>")."""
        return Counter(int(h.split("/")[1]) for h in holders if h.count("/") >= 2)

    def victim(
        self, holders: list[str], pick: Callable[[list[subprocess.Popen]], subprocess.Popen]
    ) -> subprocess.Popen | None:
        """A running, unpaused host, preferably one holding accounts."""
        awake = [p for p in self.running if p.pid not in self.paused and p.poll() is None]
        busy = [p for p in awake if self.holding(holders)[p.pid]]
        choices = busy or awake
        return pick(choices) if choices else None

    @staticmethod
    def account_states(ids: list[int]) -> dict[int, str]:
        """How the hosts that answer see these accounts: {id: "chaos-h2@vm: connected, consuming; …"}."""
        from crm.celery import app

        found: dict[int, list[str]] = {}
        try:
            replies = app.control.broadcast(
                "sessionhost_accounts", arguments={"ids": ids}, reply=True, timeout=5
            )
        except Exception as error:  # the broker away: the explanation goes without
            return dict.fromkeys(ids, f"hosts not asked ({type(error).__name__})")
        for reply in replies:
            for worker, answer in reply.items():
                for account_id, state in answer.get("accounts", {}).items():
                    found.setdefault(int(account_id), []).append(f"{worker}: {state}")
        return {account_id: "; ".join(states) for account_id, states in found.items()}

    def dump_stacks(self) -> None:
        """Every running host logs the stack of each of its threads (Celery's SIGUSR1 handler)."""
        for proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)
        time.sleep(2)

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.running.remove(proc)

    def pause(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGSTOP)
        self.paused.add(proc.pid)

    def resume(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGCONT)
        self.paused.discard(proc.pid)

    def stop(self, *, patience: float = 15.0) -> None:
        """SIGTERM to all (sessions saved, leases released), SIGKILL for any still running after
        ``patience`` seconds: the run has been counted, and its services are thrown away next."""
        procs = [*self.running, *([self.worker] if self.worker else [])]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + patience
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.running.clear()
