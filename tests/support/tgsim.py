"""tgsim in a background thread of the test process; session hosts reach it over TCP like Telegram."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tgsim.sim import Simulator


class SimThread:
    def __init__(self, keys_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="tgsim", daemon=True)
        self.keys_path = keys_dir / "tgsim-keys.pem"
        self.sim: Simulator | None = None

    def start(self) -> SimThread:
        self._thread.start()
        self.sim = self.run(self._start())
        self.keys_path.write_text(self.sim.public_key_pem())
        return self

    async def _start(self) -> Simulator:
        from tgsim.limits import Limits

        # Tests opt into Telegram's limits where they test them; bursts would make others flaky.
        return await Simulator(limits=Limits(enabled=False)).start()

    def stop(self) -> None:
        if self.sim is not None:
            self.run(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def run(self, target: Any, /, *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
        """Run a coroutine, or call a function, on the simulator's loop (its world is not thread-safe)."""
        if inspect.iscoroutine(target):
            return asyncio.run_coroutine_threadsafe(target, self.loop).result(timeout)

        async def call() -> Any:
            result = target(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    @property
    def world(self) -> Any:
        assert self.sim is not None
        return self.sim.world

    @property
    def faults(self) -> Any:
        assert self.sim is not None
        return self.sim.faults

    def world_call(self, _name: str, /, *args: Any, **kwargs: Any) -> Any:
        return self.run(getattr(self.world, _name), *args, **kwargs)

    def fault(self, _name: str, /, *args: Any, **kwargs: Any) -> Any:
        return self.run(getattr(self.faults, _name), *args, **kwargs)

    def env(self) -> dict[str, str]:
        """What a session host needs to use this simulator instead of Telegram."""
        assert self.sim is not None
        return {
            "TELEGRAM_DC": f"{self.sim.dc_id}@127.0.0.1:{self.sim.port}",
            "TELEGRAM_SERVER_KEYS": str(self.keys_path),
        }

    def host_env(self) -> dict[str, str]:
        """Environment for session host processes in a test (faults cleared): this simulator instead of
        Telegram, a short lease TTL."""
        self.fault("clear")
        # As in production, a lease TTL (6 s here) longer than the time after which Telegram treats an idle
        # connection of a key as stale (tgsim's duplicate_window), so a takeover never looks like a duplicate.
        self.run(setattr, self.faults, "duplicate_window", 3.0)
        return {
            **self.env(),
            "SESSION_LEASE_TTL": "6",
            "SESSION_CHECKPOINT_INTERVAL": "2",
            "FLOOD_SLEEP_THRESHOLD": "3",
        }

    def client(self, **kwargs: Any) -> Any:
        assert self.sim is not None
        return self.sim.client(**kwargs)

    def in_loop(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.run(fn, *args, **kwargs)
