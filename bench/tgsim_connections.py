"""How many concurrently connected Telethon clients one tgsim process holds.

    .venv/bin/python bench/tgsim_connections.py --clients 2000

The server runs as ``python -m tgsim`` in its own process; every client is a real Telethon 1.45
TelegramClient in this process. Most clients resume a pre-registered auth key (as Switchboard's accounts
do: they have saved sessions), because creating 2,000 keys would measure Telethon's Python factoring and
DH, not the server; a separate sample measures fresh handshakes. Reported: time to connect everyone,
a ping round-trip across all clients at once, the server's RSS and CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from telethon import TelegramClient, connection
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl import functions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tgsim.client import configure_session, trust_key

TRANSPORTS = {
    "full": connection.ConnectionTcpFull,
    "intermediate": connection.ConnectionTcpIntermediate,
    "abridged": connection.ConnectionTcpAbridged,
}


def proc_stats(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rss_mb": round(rss_kb / 1024, 1), "cpu_s": round((int(fields[11]) + int(fields[12])) / ticks, 2)}


async def start_server(tmp: Path, keys: list[bytes]) -> tuple[asyncio.subprocess.Process, int]:
    from tgsim.world import World

    world_file = tmp / "world.bin"
    World().save(str(world_file))
    salt = random.getrandbits(63)
    (tmp / "world.bin.keys.json").write_text(json.dumps([{"key": k.hex(), "salt": salt} for k in keys]))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tgsim", "--world", str(world_file), "--no-limits",
        "--key-file", str(tmp / "dc.pem"), "--keys-out", str(tmp / "dc.pub"),
        stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    port = int(re.search(r":(\d+) \(MTProto", line).group(1))
    return proc, port


def make_client(port: int, key: bytes | None, transport: type) -> TelegramClient:
    session = MemorySession()
    configure_session(session, host="127.0.0.1", port=port, dc_id=2)
    if key is not None:
        session.auth_key = AuthKey(key)
    # receive_updates=False: no per-client update loop work; the connection itself is what is measured.
    return TelegramClient(session, 1, "bench", connection=transport, receive_updates=False)


async def connect_all(clients: list[TelegramClient], concurrency: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(client: TelegramClient) -> None:
        nonlocal failures
        async with gate:
            try:
                await asyncio.wait_for(client.connect(), 120)
            except Exception as exc:  # counted and reported
                failures += 1
                if failures <= 3:
                    print("connect failed:", type(exc).__name__, exc, file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in clients))
    return time.perf_counter() - started, failures


async def ping_all(clients: list[TelegramClient]) -> tuple[float, int]:
    async def one(client: TelegramClient) -> bool:
        try:
            await asyncio.wait_for(client(functions.PingRequest(random.getrandbits(62))), 60)
            return True
        except Exception as exc:  # counted and reported
            print("ping failed:", type(exc).__name__, exc, file=sys.stderr)
            return False

    started = time.perf_counter()
    ok = await asyncio.gather(*(one(c) for c in clients if c.is_connected()))
    return time.perf_counter() - started, len(ok) - sum(ok)


async def main(args: argparse.Namespace) -> dict:
    transport = TRANSPORTS[args.transport]
    keys = [os.urandom(256) for _ in range(args.clients)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, port = await start_server(tmp, keys)
        try:
            trust_key((tmp / "dc.pub").read_text())
            idle = proc_stats(proc.pid)

            fresh = [make_client(port, None, transport) for _ in range(args.handshakes)]
            hs_time, hs_fail = await connect_all(fresh, 10)
            after_hs = proc_stats(proc.pid)

            clients = [make_client(port, k, transport) for k in keys]
            connect_time, connect_fail = await connect_all(clients, args.concurrency)
            after_connect = proc_stats(proc.pid)
            await asyncio.sleep(args.hold)
            ping_time, ping_fail = await ping_all(clients)
            held = sum(1 for c in clients if c.is_connected())
            after_ping = proc_stats(proc.pid)
            for c in clients + fresh:
                c.disconnect()
            await asyncio.sleep(1)
        finally:
            proc.terminate()
            await proc.wait()
    return {
        "transport": args.transport,
        "fresh_handshakes": args.handshakes,
        "handshake_wall_s": round(hs_time, 2),
        "handshake_failures": hs_fail,
        "server_cpu_per_handshake_ms": round(
            (after_hs["cpu_s"] - idle["cpu_s"]) * 1000 / max(args.handshakes, 1), 1
        ),
        "clients": args.clients,
        "connect_wall_s": round(connect_time, 2),
        "connect_failures": connect_fail,
        "connected_after_hold": held,
        "hold_s": args.hold,
        "ping_all_wall_s": round(ping_time, 2),
        "ping_failures": ping_fail,
        "server_rss_mb_idle": idle["rss_mb"],
        "server_rss_mb_connected": after_connect["rss_mb"],
        "server_cpu_s_connecting": round(after_connect["cpu_s"] - after_hs["cpu_s"], 2),
        "server_cpu_s_ping_round": round(after_ping["cpu_s"] - after_connect["cpu_s"], 2),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--handshakes", type=int, default=50, help="fresh auth keys to time separately")
    p.add_argument("--concurrency", type=int, default=200, help="clients connecting at once")
    p.add_argument("--hold", type=float, default=10.0, help="seconds to stay connected before the ping round")
    p.add_argument("--transport", choices=sorted(TRANSPORTS), default="full")
    print(json.dumps(asyncio.run(main(p.parse_args())), indent=2))
