"""Benchmark: send and read latency through the REST API and MCP, for 1 and for 100 accounts, and side
by side with a single-account Telethon JSON + MCP gateway on the same tgsim; memory per account.

Run:  .venv/bin/python bench/api.py [--accounts 100] [--requests 200] [--peer /work/peer]

Uses its own database (bench_api, recreated), Redis db 7, tgsim in a thread of this process, one real
session-host process and the real web process (uvicorn crm.asgi:application) on loopback. Requests go
one at a time (plus one case with several in flight), each timed from the client's side.

``--peer DIR`` is a copy of psyb0t/docker-telethon-plus built outside this repository (its ``app``
package, run as ``python -m app``, with its own interpreter in ``DIR/venv``). After our processes
stop, the first benchmark account's session is exported as a Telethon StringSession and the gateway
runs with it against the same tgsim, so both sides drive the same Telegram user. Without --peer that
part is skipped. Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from support import ROOT, child_pid, logged_in_accounts, rss_mb, setup, start_host, wait

FRIEND = "benchapifriend"  # every send goes to this tgsim user


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples):6.1f} ms  p95 {cuts[94]:6.1f} ms  (n={len(samples)})"


FAILED: list[str] = []  # answers other than 200, as "status: start of the body"


def timed(call: Callable[[int], bool], count: int, *, in_flight: int = 1) -> list[float]:
    """Milliseconds each of ``count`` calls took, for those that succeeded; ``in_flight`` run at once."""

    def one(n: int) -> float | None:
        started = time.perf_counter()
        succeeded = call(n)
        return (time.perf_counter() - started) * 1000 if succeeded else None

    if in_flight == 1:
        found = [one(n) for n in range(count)]
    else:
        with ThreadPoolExecutor(in_flight) as pool:
            found = list(pool.map(one, range(count)))
    return [ms for ms in found if ms is not None]


def ok(answer) -> bool:
    """Only a 200 is a sample: a send slower than the request's wait answers 202, an error 4xx/5xx."""
    if answer.status_code != 200:
        FAILED.append(f"{answer.status_code}: {answer.text[:80]!r}")
    return answer.status_code == 200


def prepare(sim, count: int) -> tuple[list[int], str]:
    """``count`` logged-in accounts with budgets that do not refuse the benchmark, and a key for them."""
    from django.contrib.auth import get_user_model

    from accounts.models import Account
    from api.keys import key_create
    from api.models import SCOPES
    from tests.support.outreach import generous_limits

    sim.world_call("create_user", phone="9996629999", first_name="Friend", username=FRIEND)
    ids = [account for account, _user in logged_in_accounts(sim, [f"999662{n:04d}" for n in range(count)])]
    for account in Account.objects.filter(pk__in=ids):
        generous_limits(account, message=100_000)
    admin = get_user_model().objects.create_user("bench", password=secrets.token_hex(8), role="admin")
    _, token = key_create(name="bench", scopes=SCOPES, accounts=Account.objects.filter(pk__in=ids), by=admin)
    return ids, token


WATCHED: dict[str, int] = {}  # process name -> pid whose PostgreSQL connections each case counts


def database_connections() -> dict[int, int]:
    """Open connections to PostgreSQL on loopback, by client pid."""
    found = subprocess.run(
        ["ss", "-Htnp", "state", "established", "dst", "127.0.0.1:5432"], capture_output=True, text=True
    ).stdout
    pids = [int(part.split(",", 1)[0]) for part in found.split("pid=")[1:]]
    return {pid: pids.count(pid) for pid in set(pids)}


@contextmanager
def peak_connections():
    """Yields a dict that ends up holding the most connections each watched process had open at once."""
    peak = dict.fromkeys(WATCHED, 0)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            now = database_connections()
            for name, pid in WATCHED.items():
                peak[name] = max(peak[name], now.get(pid, 0))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def report(label: str, run: Callable[[], list[float]], *, throughput: bool = False) -> None:
    """Time a case and print its latency beside the commands' own time on the session host (queued →
    done, from the operation rows), so the rest is the web process, the broker and the wait for it."""
    from django.utils import timezone

    from accounts.models import Operation

    since, failed_before = timezone.now(), len(FAILED)
    started = time.perf_counter()
    with peak_connections() as peak:
        samples = run()
    rate = len(samples) / (time.perf_counter() - started)
    line = f"{label:42} {percentiles(samples)}" + (f", {rate:.1f}/s" if throughput else "")
    done = Operation.objects.filter(queued_at__gte=since, state=Operation.State.DONE)
    host = [(o.updated_at - o.queued_at).total_seconds() * 1000 for o in done.only("queued_at", "updated_at")]
    if host:
        line += f"; command queued → done p50 {statistics.median(host):.1f} ms"
    if len(FAILED) > failed_before:
        line += f"; {len(FAILED) - failed_before} failed, first {FAILED[failed_before]}"
    if any(peak.values()):
        line += "; PostgreSQL connections at most " + ", ".join(f"{n} {name}" for name, n in peak.items())
    print(f"{line}; load {os.getloadavg()[0]:.1f}")


def measure_rest(url: str, token: str, ids: list[int], requests: int) -> None:
    import httpx2

    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx2.Client(base_url=url, headers=headers, timeout=60) for _ in range(10)]

    def send(n: int, account: int) -> bool:
        body = {"peer": f"@{FRIEND}", "text": f"bench message {n}"}
        return ok(clients[n % 10].post(f"/api/v1/accounts/{account}/messages", json=body))

    def read(n: int, account: int) -> bool:
        return ok(clients[n % 10].get(f"/api/v1/accounts/{account}/me"))

    for account in ids:  # each account resolves the friend once, as any client would before a run
        send(0, account)
    one, spread = ids[0], max(requests, 2 * len(ids))

    def by_turn(n: int) -> int:
        return ids[n % len(ids)]

    report("REST send, 1 account", lambda: timed(lambda n: send(n, one), requests))
    report("REST read (me), 1 account", lambda: timed(lambda n: read(n, one), requests))
    report(f"REST send, {len(ids)} accounts", lambda: timed(lambda n: send(n, by_turn(n)), spread))
    report(f"REST read (me), {len(ids)} accounts", lambda: timed(lambda n: read(n, by_turn(n)), spread))
    report(
        f"REST send, {len(ids)} accounts, 10 in flight",
        lambda: timed(lambda n: send(n, by_turn(n)), spread, in_flight=10),
        throughput=True,
    )
    for client in clients:
        client.close()


async def mcp_sends(
    url: str, token: str, account: int | None, requests: int, *, peer: bool = False
) -> list[float]:
    """messages_send (ours) or send_message (the gateway's) through the MCP SDK's streamable HTTP client."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp" + ("/" if peer else ""), http_client=http)) as client,
    ):
        samples = []
        for n in range(requests + 1):
            if peer:
                name, arguments = "send_message", {"chat": f"@{FRIEND}", "text": f"mcp {n}"}
            else:
                name, arguments = (
                    "messages_send",
                    {"account": account, "peer": f"@{FRIEND}", "text": f"mcp {n}"},
                )
            started = time.perf_counter()
            result = await client.call_tool(name, arguments)
            # The gateway answers a failure as a success-shaped {"error": ...}; ours sets isError.
            if result.is_error or '"error"' in result.content[0].text:
                FAILED.append(f"isError: {result.content[0].text[:80]!r}")
            elif n:  # the first call opened the session
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def string_session(account_id: int) -> str:
    """The account's stored session as a Telethon StringSession (the gateway's TELETHON_SESSION)."""
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    from accounts.sessions import session_load

    state, _version = session_load(account_id=account_id)
    session = StringSession()
    session.set_dc(state.dc_id, state.server_address, state.port)
    session.auth_key = AuthKey(state.auth_key)
    return session.save()


@contextmanager
def gateway(path: Path, *, session: str, tgsim_env: dict[str, str], token: str, log: Path):
    """The gateway on a free loopback port, its throttle off (see README); yields (url, process)."""
    import socket

    import httpx2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": os.environ["PATH"],
        "TELETHON_API_ID": "1",
        "TELETHON_API_HASH": "ab" * 16,
        "TELETHON_SESSION": session,
        "TELETHON_HTTP_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "TELETHON_AUTH_KEY": token,
        "TELETHON_THROTTLE_ENABLED": "false",
        "TELETHON_CACHE_PATH": str(path / "cache" / "entities.json"),
        "TELETHON_LOG_LEVEL": "WARNING",
        **tgsim_env,
    }
    proc = subprocess.Popen(
        [str(path / "venv" / "bin" / "python"), "-m", "app"], cwd=path, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def authorized() -> bool:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            return httpx2.get(f"{url}/healthz", timeout=2).json()["authorized"]
        except httpx2.HTTPError:
            return False

    try:
        wait(authorized, timeout=60)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def measure_gateway(path: Path, *, account: int, sim, requests: int, logs: Path) -> None:
    import httpx2

    token = secrets.token_hex(16)
    with gateway(
        path, session=string_session(account), tgsim_env=sim.env(), token=token, log=logs / "peer.log"
    ) as (
        url,
        proc,
    ):
        http = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

        def send(n: int) -> bool:
            return ok(http.post("/api/messages", json={"chat": f"@{FRIEND}", "text": f"gateway message {n}"}))

        send(0)
        WATCHED.clear()
        report("gateway REST send, 1 account", lambda: timed(send, requests))
        report(
            "gateway REST read (me), 1 account", lambda: timed(lambda n: ok(http.get("/api/me")), requests)
        )
        report(
            "gateway MCP send, 1 account",
            lambda: asyncio.run(mcp_sends(url, token, None, requests, peer=True)),
        )
        http.close()
        print(f"gateway RSS, one process = one account: {rss_mb(proc.pid):.0f} MB")


def main() -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="requests per case (at least)")
    parser.add_argument(
        "--peer", type=Path, help="a built copy of psyb0t/docker-telethon-plus (skipped if absent)"
    )
    args = parser.parse_args()

    print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
    setup(database="bench_api", queue_prefix="benchapi")
    from accounts.models import AccountEvent
    from tests.support.processes import web_server
    from tests.support.tgsim import SimThread

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    sim = SimThread(logs).start()
    print(f"tgsim on port {sim.sim.port}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
    ids, token = prepare(sim, args.accounts)

    production = {"DEBUG": "0", "SECRET_KEY": secrets.token_hex(32)}
    host = start_host("api", {**sim.env(), **production}, logs / "api-host.log")
    try:
        with web_server(log_path=logs / "api-web.log", env=production) as url:
            WATCHED.update(host=host.pid, web=child_pid("uvicorn"))
            backfilled = AccountEvent.objects.filter(account_id__in=ids, kind="inbox_backfilled")
            took = wait(lambda: backfilled.count() == len(ids), timeout=300)
            print(f"{len(ids)} accounts connected and backfilled in {took:.1f} s")
            measure_rest(url, token, ids, args.requests)
            report("MCP send, 1 account", lambda: asyncio.run(mcp_sends(url, token, ids[0], args.requests)))
            web_rss = rss_mb(WATCHED["web"])
            host_rss = rss_mb(host.pid)
            print(
                f"RSS: session host {host_rss:.0f} MB + web {web_rss:.0f} MB for {len(ids)} accounts = "
                f"{host_rss / len(ids):.2f} MB host + {web_rss / len(ids):.2f} MB web per account"
            )
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(120)  # sessions saved and leases released: the gateway may use the first account now
    if args.peer and (args.peer / "app").is_dir():
        measure_gateway(args.peer, account=ids[0], sim=sim, requests=args.requests, logs=logs)
    else:
        print("gateway skipped (no --peer directory)")
    sim.stop()
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
