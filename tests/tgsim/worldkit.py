"""Fixtures for world/handler tests: a Simulator with the real World and every handler, and a helper that
logs Telethon clients in through the real auth flow. Test modules import the fixtures they use."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio
from telethon import TelegramClient

from tgsim.limits import Limits
from tgsim.sim import Simulator
from tgsim.world import World

_numbers = itertools.count(1)


def new_phone(dc: int = 2) -> str:
    """A fresh test-DC number 99966XYYYY; its code is XXXXX."""
    return f"99966{dc}{next(_numbers):04d}"


@pytest_asyncio.fixture
async def wsim() -> AsyncIterator[Simulator]:
    async with Simulator(World(seed=7), limits=Limits(enabled=False)) as simulator:
        yield simulator
        simulator.world.personas.cancel()


Login = Callable[..., Awaitable[TelegramClient]]


@pytest_asyncio.fixture
async def login(wsim: Simulator) -> AsyncIterator[Login]:
    """``await login(phone, password=None, **client_kw)``: a signed-in client (Telethon's own start())."""
    made: list[TelegramClient] = []

    async def sign_in(phone: str, password: str | None = None, code: str = "22222", **kw) -> TelegramClient:
        kw.setdefault("flood_sleep_threshold", 0)
        kw.setdefault("request_retries", 1)
        client = wsim.client(**kw)
        made.append(client)
        await client.start(phone=phone, code_callback=lambda: code, password=password)
        return client

    yield sign_in
    for client in made:
        await client.disconnect()


def user(world: World, name: str, **kw) -> int:
    """A world user with a test phone and the username ``name`` (so clients can resolve it)."""
    phone = kw.pop("phone", None) or new_phone()
    return world.create_user(phone, name.capitalize(), username=name, **kw)


async def collect(queue: asyncio.Queue, count: int, timeout: float = 5.0) -> list:
    items = []
    async with asyncio.timeout(timeout):
        while len(items) < count:
            items.append(await queue.get())
    return items
