"""Benchmark: how long an agent hook's answer takes to reach the person who wrote, end to end.

Run:  DEBUG=1 .venv/bin/python bench/agent_hook.py [--senders 30] [--burst 30]
Uses its own database (switchboard_bench_agent, recreated), tgsim in a thread of this process, a real
session host and a real general worker (2 processes), and a hook that answers at once on 127.0.0.1.
The path timed: a tgsim user writes → the host ingests it → the worker judges it (policy open) → the
worker calls the hook → the reply is queued → the host sends it → the tgsim user has it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

from support import ROOT, logged_in_accounts, setup, start_host, wait


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * share + 0.5) - 1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=15, help="one message each, one after another")
    parser.add_argument("--burst", type=int, default=15, help="senders writing at the same moment")
    args = parser.parse_args()

    queue = f"bench-agent-{uuid.uuid4().hex[:8]}"
    os.environ.update(CELERY_DEFAULT_QUEUE=queue, AGENT_HOOK_ALLOW_PRIVATE="1", AGENT_HOOK_ALLOW_INSECURE="1")
    setup(database="switchboard_bench_agent", queue_prefix="benchagent")
    from agents import services
    from agents.models import HookCall
    from automation.models import AutomationSettings
    from tests.agents.conftest import HookServer, serve
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    [(account_id, me)] = logged_in_accounts(sim, ["9996629901"], first_name="Agent")
    AutomationSettings.objects.create(account_id=account_id, dm_policy="open")

    hook = HookServer()
    hook.replying(lambda payload: f"re: {payload['data']['message']['text']}")
    server = serve(hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    from accounts.models import Account

    values = services.HookSettings(
        url=hook.url, enabled=True, timeout=10, context_size=20, per_peer_per_minute=5, per_peer_per_hour=50
    )
    _, hook.secret = services.hook_save(account=Account.objects.get(pk=account_id), values=values, by=None)

    env = {**sim.env()}
    host = start_host("agent", env, logs / "agent-host.log")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "-Q", queue, "--concurrency", "2",
         "--hostname", f"{queue}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, **env}, stdout=(logs / "agent-worker.log").open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait(lambda: Account.objects.filter(pk=account_id, telegram_id=me).exists(), timeout=60)
        users = [
            sim.world_call("create_user", phone=f"9996628{n:03d}", first_name=f"Writer{n}")
            for n in range(args.senders + args.burst)
        ]

        def answered(user: int, text: str) -> bool:
            return any(m["text"] == f"re: {text}" for m in sim.world_call("messages_between", user, me))

        load_before = os.getloadavg()[0]
        first = time.monotonic()
        one_by_one = []
        for n, user in enumerate(users[: args.senders]):
            text = f"question {n}"
            started = time.monotonic()
            sim.world_call("say", user, to_user_id=me, text=text)
            wait(lambda user=user, text=text: answered(user, text), timeout=60, interval=0.01)
            one_by_one.append((time.monotonic() - started) * 1000)

        burst_users = users[args.senders :]
        started = time.monotonic()
        for n, user in enumerate(burst_users):
            sim.world_call("say", user, to_user_id=me, text=f"burst {n}")
        pending = dict(enumerate(burst_users))
        done: list[float] = []
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            for n, user in list(pending.items()):
                if answered(user, f"burst {n}"):
                    done.append((time.monotonic() - started) * 1000)
                    del pending[n]
            time.sleep(0.02)
        load_after = os.getloadavg()[0]

        durations = list(HookCall.objects.exclude(duration_ms=None).values_list("duration_ms", flat=True))
        replied = HookCall.objects.filter(outcome="replied").count()
        print(
            f"{os.cpu_count()} cores; load average (1 min) {load_before:.2f} before, {load_after:.2f} after"
        )
        print(f"sent {len(one_by_one) + len(done)} replies in {time.monotonic() - first:.0f} s")
        if one_by_one:
            print(
                f"one after another, {len(one_by_one)} senders: "
                f"median {statistics.median(one_by_one):.0f} ms, "
                f"p95 {percentile(one_by_one, 0.95):.0f} ms, max {max(one_by_one):.0f} ms"
            )
        if done:
            print(
                f"burst of {len(burst_users)}: {len(done)} answered, first {min(done):.0f} ms, "
                f"median {statistics.median(done):.0f} ms, last {max(done):.0f} ms"
                + (f", {len(pending)} unanswered after 180 s" if pending else "")
            )
        print(
            f"hook calls: {len(durations)} ({replied} replied), request to answer median "
            f"{statistics.median(durations):.0f} ms, p95 {percentile(durations, 0.95):.0f} ms"
        )
        verified = sum(r.verified for r in hook.received)
        print(f"signatures verified by the hook: {verified}/{len(hook.received)}")
    finally:
        for proc in (worker, host):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.shutdown()
        sim.stop()


if __name__ == "__main__":
    main()
