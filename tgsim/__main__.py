"""Run a tgsim data centre, e.g. ``python -m tgsim --world demo --key-file var/tgsim.pem``.

Seeds the world, writes the server's RSA public key for clients to trust, serves MTProto on --port and the
loopback control API on --control-port, and saves world + auth keys on exit when --save is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from tgsim import crypto
from tgsim.control_http import ControlServer
from tgsim.limits import Limits
from tgsim.sim import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tgsim", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="MTProto TCP port (0: any free port)")
    p.add_argument("--control-port", type=int, default=0, help="loopback HTTP control API port")
    p.add_argument("--dc-id", type=int, default=2)
    p.add_argument("--world", default="empty", help="demo, empty, or a saved world FILE")
    p.add_argument("--key-file", help="RSA private key (PEM); created if missing, so restarts keep trust")
    p.add_argument("--keys-out", help="write the RSA public key (PEM) here for clients to trust")
    p.add_argument("--save", help="save world (and auth keys beside it) here on exit")
    p.add_argument("--no-limits", action="store_true", help="disable flood limits")
    return p.parse_args(argv)


def _load_world(spec: str):  # World imports lazily: the protocol layer must not need it
    from tgsim.world import World

    if spec in ("empty", "demo"):
        return World()
    return World.load(spec)


async def serve(args: argparse.Namespace) -> None:
    world = _load_world(args.world)
    key = crypto.load_or_create_rsa_key(args.key_file) if args.key_file else crypto.generate_rsa_key()
    limits = Limits(enabled=not args.no_limits)
    sim = Simulator(world, host=args.host, port=args.port, key=key, dc_id=args.dc_id, limits=limits)
    await sim.start()
    summary = None
    if args.world == "demo":
        from tgsim.demo import build_demo

        summary = build_demo(world)
    elif args.world != "empty":
        sim.load_keys(args.world)
    control = ControlServer(sim, port=args.control_port)
    await control.start()
    if args.keys_out:
        Path(args.keys_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.keys_out).write_text(sim.public_key_pem())

    x = args.dc_id
    print(f"tgsim DC {x} listening on {sim.host}:{sim.port} (MTProto: full, intermediate, abridged)")
    print(f"control API: http://127.0.0.1:{control.port}/healthz, POST /world/<method>, /faults/<method>")
    if args.keys_out:
        print(f"RSA public key written to {args.keys_out}")
    print(f"test phones 99966{x}YYYY log in with the code {str(x) * 5} if the world has an account for them")
    if summary:
        print("demo world:", json.dumps(summary, default=str)[:2000])
    sys.stdout.flush()

    from tgsim.demo import DEMO_PHONES, ensure_spares
    from tgsim.demo import chatter as demo_chatter

    if args.world not in ("demo", "empty") and world.user_by_phone(DEMO_PHONES[0]):
        ensure_spares(world)  # a demo world saved before the spare numbers existed

    # A demo world (fresh or reloaded) keeps its inbox alive with people writing in now and then.
    chatter = (
        asyncio.get_running_loop().create_task(demo_chatter(world))
        if world.user_by_phone(DEMO_PHONES[0])
        else None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        if chatter is not None:
            chatter.cancel()
        if args.save:
            print("saved:", json.dumps(sim.save(args.save), default=str))
        await control.stop()
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
