"""Simulator: one world, one DC server, its faults and limits, started and stopped together.

async with Simulator() as sim:
    client = sim.client()          # a Telethon client already pointed at this DC
    await client.connect()
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from telethon import TelegramClient
from telethon.sessions import MemorySession
from telethon.sessions.abstract import Session

from tgsim import crypto
from tgsim.client import configure_session, trust_key
from tgsim.faults import Faults
from tgsim.limits import Limits
from tgsim.rpc import Handler
from tgsim.server import Server

# Any values work against tgsim; these are just recognisable in getAuthorizations.
TEST_API_ID = 17349
TEST_API_HASH = "344583e45741c457fe1862106095a5eb"


def keys_path(world_path: str) -> str:
    return f"{world_path}.keys.json"


class Simulator:
    def __init__(
        self,
        world: Any = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        key: crypto.RsaKey | str | Path | None = None,
        dc_id: int = 2,
        limits: Limits | None = None,
        faults: Faults | None = None,
        handlers: Mapping[int, Handler] | None = None,
    ) -> None:
        if world is None:
            from tgsim.world import World

            world = World()
        self.world = world
        self.limits = limits or Limits()
        self.faults = faults or Faults()
        self.server = Server(
            world,
            host=host,
            port=port,
            key=key,
            dc_id=dc_id,
            limits=self.limits,
            faults=self.faults,
            handlers=handlers,
        )

    async def start(self) -> Simulator:
        await self.server.start()
        attach = getattr(self.world, "attach", None)
        if attach is not None:
            attach(self.server)
        trust_key(self.public_key_pem())  # so that sim.client() and any Telethon in-process trust it
        return self

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def dc_id(self) -> int:
        return self.server.dc_id

    def public_key_pem(self) -> str:
        return self.server.public_key_pem()

    def save(self, path: str) -> dict[str, Any]:
        """Save the world to ``path`` and the auth keys next to it (``path + ".keys.json"``), so a
        restarted tgsim (same RSA key) lets saved Telethon sessions resume without logging in."""
        summary = self.world.save(path) if hasattr(self.world, "save") else {}
        keys = self.server.dump_keys()
        target = Path(keys_path(path))
        target.write_text(json.dumps(keys))
        target.chmod(0o600)  # auth keys are credentials: whoever holds one is signed in
        return {**summary, "auth_keys": len(keys)}

    def load_keys(self, path: str) -> int:
        """Load the auth keys saved next to a world file by save(); returns how many."""
        file = Path(keys_path(path))
        if not file.exists():
            return 0
        keys = json.loads(file.read_text())
        self.server.load_keys(keys)
        return len(keys)

    def client(self, session: Session | None = None, **kw: Any) -> TelegramClient:
        """A Telethon client aimed at this simulator (not yet connected). Keyword arguments go to
        TelegramClient; tests usually want flood_sleep_threshold=0 so FLOOD_WAITs raise at once."""
        session = session if session is not None else MemorySession()
        configure_session(session, host=self.host, port=self.port, dc_id=self.dc_id)
        kw.setdefault("api_id", TEST_API_ID)
        kw.setdefault("api_hash", TEST_API_HASH)
        return TelegramClient(session, **kw)
