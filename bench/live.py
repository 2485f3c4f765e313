"""Benchmark: pushed updates (crm.live), from a persona's send to the text in an open browser inbox, and
many open streams on one web process.

Run:  .venv/bin/python bench/live.py latency [--messages 50]
      .venv/bin/python bench/live.py streams [--streams 1000] [--seconds 30] [--rate 2]

Both use their own database (switchboard_bench_live, recreated), Redis channel prefix ``benchlive``
and the real web process (uvicorn crm.asgi:application) on loopback.

latency: tgsim in a thread of this process, one account logged in and held by a real session host, an
operator's inbox open in Chromium (Playwright) on the conversation. A persona sends ``messages`` texts
one at a time; a MutationObserver in the page stamps (Date.now()) the moment each text is in the open
conversation, against the wall-clock time this process took just before the send (same machine, same
clock). Then the same with the stream cut, so the page polls as it did before push (every 500 ms).
The web process runs with DEBUG=1 (static files from the finders: a DEBUG=0 collectstatic fails today
on chart.js's missing source map).

streams: ``streams`` concurrent streams (plain asyncio HTTP clients in this process), one operator per
ten streams, each operator granted one of ten accounts; the web process's RSS and CPU are read from
/proc with the streams open and idle, then while this process publishes ``rate`` inbox events per
second on every account (each event reaches a tenth of the streams). DEBUG=0.

Prints one line per figure and the load average before and after; bench/README.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

from support import ROOT, child_pid, cpu_seconds, logged_in_accounts, rss_mb, setup, start_host, wait

PREFIX = "benchlive"
PASSWORD = "pw-bench-op-1"  # noqa: S105 (a throwaway user in the benchmark's own database)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(int(len(samples) * 0.95) - 1, 0)]
    return (
        f"n={len(samples)} median {statistics.median(samples):.0f} ms, p95 {p95:.0f} ms, "
        f"max {samples[-1]:.0f} ms"
    )


def session_of(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- latency ---------------------------------------------------------------------------------------------

OBSERVER = """
() => {
  window.__bench = { expect: null, seen: null };
  new MutationObserver(() => {
    const b = window.__bench;
    if (!b.expect || b.seen) return;
    const convo = document.getElementById("conversation");
    if (convo && convo.textContent.includes(b.expect)) b.seen = Date.now();
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}
"""


def measure(page, sim, persona: int, me: int, count: int, label: str) -> list[float]:
    """Send → seen in the page, per message (ms); prints where the time went: up to the row's
    created_at (tgsim, Telethon, the host's flush) and from there to the page (publish or poll, the
    fragment request, the swap)."""
    from inbox.models import Message

    samples, stored, shown = [], [], []
    for n in range(count):
        text = f"{label} message {n} {uuid.uuid4().hex[:6]}"
        page.evaluate("t => { window.__bench.expect = t; window.__bench.seen = null; }", text)
        sent = time.time() * 1000
        sim.world_call("say", persona, to_user_id=me, text=text)
        page.wait_for_function("() => window.__bench.seen !== null", timeout=20_000)
        seen = page.evaluate("() => window.__bench.seen")
        samples.append(seen - sent)
        at = Message.objects.get(text=text).created_at.timestamp() * 1000
        stored.append(at - sent)
        shown.append(seen - at)
        time.sleep(0.3)  # one at a time, as a person types
    print(f"  {label}: send → stored (row created_at): {percentiles(stored)}")
    print(f"  {label}: stored → in the page: {percentiles(shown)}")
    return samples


def latency(args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    from accounts.models import AccountEvent
    from crm.models import User
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, logged_in_page
    from tests.support.processes import web_server
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    [(account_id, me)] = logged_in_accounts(sim, ["9996650001"], first_name="Desk")
    operator = User.objects.create_user("bench-op", password=PASSWORD, role=User.Role.OPERATOR)
    operator.granted_accounts.add(account_id)
    persona = sim.world_call("create_user", phone="9996650002", first_name="Grace", last_name="Hopper")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API beside the ORM (see tests)
    host = start_host("live", sim.env(), logs / "live-host.log")
    try:
        with (
            web_server(log_path=logs / "live-web.log") as url,
            sync_playwright() as playwright,
        ):
            backfilled = AccountEvent.objects.filter(account_id=account_id, kind="inbox_backfilled")
            wait(backfilled.exists, timeout=120)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context, page = logged_in_page(browser, SimpleNamespace(url=url), "bench-op", PASSWORD)
            page.wait_for_selector("body[data-live=push]", timeout=30_000)
            sim.world_call("say", persona, to_user_id=me, text="Hello there")
            page.locator(".conv-row", has_text="Grace Hopper").click(timeout=20_000)
            page.wait_for_selector("#conversation .msg.in >> text=Hello there")
            page.evaluate(OBSERVER)

            print(f"load before: {uptime()}")
            pushed = measure(page, sim, persona, me, args.messages, "push")
            print(f"push: send → text in the open conversation: {percentiles(pushed)}")

            page.route("**/inbox/stream/**", lambda route: route.abort())
            from crm import live

            live.publish([(live.user_channel(operator.pk), live.message("rights"))])
            page.wait_for_selector("body[data-live=poll]", timeout=30_000)
            polled = measure(page, sim, persona, me, args.messages, "poll")
            print(f"poll (stream cut, 500 ms poll): send → text: {percentiles(polled)}")
            print(f"load after: {uptime()}")
            context.close()
            browser.close()
    finally:
        host.terminate()
        host.wait(60)
        sim.stop()


# --- many streams ----------------------------------------------------------------------------------------


class Client:
    """One open stream read by asyncio; counts events and the delay from their publication."""

    def __init__(self) -> None:
        self.events = 0
        self.delays: list[float] = []
        self.status = b""

    async def run(self, host: str, port: int, session: str, opened: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET /inbox/stream/ HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: sessionid={session}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        self.status = (await reader.readline()).strip()
        opened.set()
        try:
            while line := await reader.readline():
                if line.startswith(b"event: inbox"):
                    self.events += 1
                elif line.startswith(b"data: ") and STAMPS:
                    account = int(line[6:].strip() or 0)
                    if account in STAMPS:
                        self.delays.append((time.time() - STAMPS[account]) * 1000)
        finally:
            writer.close()


STAMPS: dict[int, float] = {}  # account id → when its latest event was published


async def hold_streams(
    args: argparse.Namespace, url: str, sessions: list[str], accounts: list[int], web: int
):
    from inbox import live

    host, port = url.removeprefix("http://").split(":")
    clients = [Client() for _ in range(args.streams)]
    tasks = []
    started = time.monotonic()
    for start in range(0, args.streams, 100):
        batch = []
        for n in range(start, min(start + 100, args.streams)):
            opened = asyncio.Event()
            tasks.append(
                asyncio.create_task(clients[n].run(host, int(port), sessions[n % len(sessions)], opened))
            )
            batch.append(opened.wait())
        await asyncio.wait_for(asyncio.gather(*batch), timeout=120)
    bad = [c.status for c in clients if b" 200 " not in c.status + b" "]
    print(
        f"{args.streams} streams opened in {time.monotonic() - started:.1f} s; refused: {len(bad)} {bad[:3]}"
    )
    await asyncio.sleep(5)  # let every subscription settle

    rss, cpu = rss_mb(web), cpu_seconds(web)
    await asyncio.sleep(args.seconds)
    idle_cpu = (cpu_seconds(web) - cpu) / args.seconds * 100
    print(
        f"idle, {args.streams} streams: web RSS {rss:.0f} MB, "
        f"CPU {idle_cpu:.1f} % of a core over {args.seconds} s"
    )

    STAMPS.clear()
    cpu, published = cpu_seconds(web), 0
    until = time.monotonic() + args.seconds
    while time.monotonic() < until:
        for account in accounts:
            STAMPS[account] = time.time()
            await asyncio.to_thread(live._send, [account])  # what bump() does after a commit
            published += 1
        await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(3)
    busy_cpu = (cpu_seconds(web) - cpu) / (args.seconds + 3) * 100
    received = sum(c.events for c in clients)
    expected = published * args.streams // len(accounts)
    delays = [d for c in clients for d in c.delays]
    print(
        f"fan-out: {published} events published ({published / args.seconds:.0f}/s), {received} of {expected} "
        f"deliveries received; web RSS {rss_mb(web):.0f} MB, CPU {busy_cpu:.1f} % of a core"
    )
    if delays:
        print(f"publish → received by a stream client: {percentiles(delays)}")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def streams(args: argparse.Namespace) -> None:
    from accounts import services
    from crm.models import User
    from tests.support.processes import web_server

    app = services.api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    accounts = [services.account_create(phone=f"99966510{n:02d}", api_app=app).pk for n in range(10)]
    operators = []
    for n in range(max(args.streams // 10, 1)):
        user = User.objects.create_user(f"bench-op-{n}", password=PASSWORD, role=User.Role.OPERATOR)
        user.granted_accounts.add(accounts[n % len(accounts)])
        operators.append(user)
    sessions = [session_of(user) for user in operators]
    # Each stream holds a socket here and a socket plus a Redis connection in the web process.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams + 1024)), hard))
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    production = {"DEBUG": "0", "SECRET_KEY": os.environ["SECRET_KEY"]}  # the sessions' key
    with web_server(log_path=logs / "live-streams-web.log", env=production) as url:
        web = child_pid("uvicorn")
        print(f"load before: {uptime()}")
        print(f"web process at rest: RSS {rss_mb(web):.0f} MB")
        asyncio.run(hold_streams(args, url, sessions, accounts, web))
        print(f"load after: {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["latency", "streams"])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=2.0, help="events per second on each account")
    args = parser.parse_args()
    os.environ["CACHE_KEY_PREFIX"] = PREFIX
    os.environ["INBOX_LIVE_KEY"] = f"{PREFIX}:inbox:versions"
    os.environ["CELERY_DEFAULT_QUEUE"] = f"{PREFIX}.default"
    os.environ["SECRET_KEY"] = uuid.uuid4().hex * 2  # this process and the web process alike
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores")
    setup(database="switchboard_bench_live", queue_prefix=PREFIX)
    latency(args) if args.mode == "latency" else streams(args)


if __name__ == "__main__":
    main()
