"""Messages per second one tgsim process delivers between Telethon clients.

    .venv/bin/python bench/tgsim_messages.py --pairs 50 --messages 200

The server runs as ``python -m tgsim`` (limits off) in its own process; ``--pairs`` sender/receiver pairs
of signed-in Telethon clients run in this process. Each sender sends ``--messages`` private messages to
its partner (``--window`` requests in flight per sender) with messages.sendMessage; a message counts as
delivered when the receiving Telethon client dispatches it (events.NewMessage). Clients resume
pre-registered, signed-in auth keys so no login flow is timed. ``--profile FILE`` runs the server under
cProfile.

Both the server and all clients share this machine, so end-to-end figures are bounded by the client
process too; the server's CPU seconds per message give its own one-core capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from telethon import TelegramClient, events
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl import functions

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from tgsim_connections import proc_stats  # noqa: E402

from tgsim.client import configure_session, trust_key  # noqa: E402


def build_world(tmp: Path, pairs: int) -> list[tuple[str, bytes]]:
    """A saved world with 2*pairs users, and a signed-in auth key for each: [(username, key)]."""
    from tgsim.world import World

    world = World(seed=1)
    accounts = []
    for n in range(pairs * 2):
        uid = world.create_user(f"99966{2}{n:04d}", f"Bench{n}", username=f"bench_user_{n}")
        accounts.append((uid, f"bench_user_{n}", os.urandom(256)))
    world.save(str(tmp / "world.bin"))
    salt = random.getrandbits(63)
    keys = [{"key": k.hex(), "salt": salt, "user_id": uid} for uid, _, k in accounts]
    (tmp / "world.bin.keys.json").write_text(json.dumps(keys))
    return [(name, key) for _, name, key in accounts]


async def start_server(tmp: Path, profile: str | None) -> tuple[asyncio.subprocess.Process, int]:
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *prefix, "-m", "tgsim", "--world", str(tmp / "world.bin"), "--no-limits",
        "--key-file", str(tmp / "dc.pem"), "--keys-out", str(tmp / "dc.pub"),
        stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
    return proc, int(re.search(r":(\d+) \(MTProto", line).group(1))


async def main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        accounts = build_world(tmp, args.pairs)
        proc, port = await start_server(tmp, args.profile)
        clients: list[TelegramClient] = []
        try:
            trust_key((tmp / "dc.pub").read_text())
            received = 0
            done = asyncio.Event()
            total = args.pairs * args.messages

            async def on_message(event: events.NewMessage.Event) -> None:
                nonlocal received
                received += 1
                if received >= total:
                    done.set()

            for _, key in accounts:
                session = MemorySession()
                configure_session(session, host="127.0.0.1", port=port, dc_id=2)
                session.auth_key = AuthKey(key)
                client = TelegramClient(session, 1, "bench", flood_sleep_threshold=0)
                clients.append(client)
            await asyncio.gather(*(c.connect() for c in clients))
            senders, receivers = clients[0::2], clients[1::2]
            for r in receivers:
                r.add_event_handler(on_message, events.NewMessage(incoming=True))
            peers = await asyncio.gather(
                *(s.get_input_entity(accounts[2 * i + 1][0]) for i, s in enumerate(senders))
            )

            async def send_all(client: TelegramClient, peer: object) -> None:
                gate = asyncio.Semaphore(args.window)

                async def one(n: int) -> None:
                    async with gate:
                        await client(
                            functions.messages.SendMessageRequest(
                                peer=peer, message=f"bench message {n}", random_id=random.getrandbits(63)
                            )
                        )

                await asyncio.gather(*(one(n) for n in range(args.messages)))

            before = proc_stats(proc.pid)
            client_cpu = time.process_time()
            started = time.perf_counter()
            await asyncio.gather(*(send_all(s, p) for s, p in zip(senders, peers, strict=True)))
            sent_at = time.perf_counter() - started
            with contextlib.suppress(TimeoutError):  # undelivered messages show in the result
                await asyncio.wait_for(done.wait(), args.timeout)
            elapsed = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu
            after = proc_stats(proc.pid)
        finally:
            for c in clients:
                await c.disconnect()
            proc.terminate()
            await proc.wait()
    server_cpu = after["cpu_s"] - before["cpu_s"]
    return {
        "pairs": args.pairs,
        "messages_per_sender": args.messages,
        "window": args.window,
        "sent": total,
        "delivered": received,
        "send_phase_s": round(sent_at, 2),
        "wall_s": round(elapsed, 2),
        "delivered_per_s": round(received / elapsed, 1),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_us_per_message": round(server_cpu * 1e6 / max(received, 1), 1),
        "server_one_core_capacity_per_s": round(received / server_cpu, 1) if server_cpu else None,
        "server_rss_mb": after["rss_mb"],
        # Close to wall_s means the (single-threaded) Telethon client process was the bottleneck.
        "client_process_cpu_s": round(client_cpu, 2),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=50)
    p.add_argument("--messages", type=int, default=200, help="messages per sender")
    p.add_argument("--window", type=int, default=8, help="requests in flight per sender")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--profile", help="write a cProfile of the server here")
    print(json.dumps(asyncio.run(main(p.parse_args())), indent=2))
