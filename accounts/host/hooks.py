"""Extension points for other apps (the inbox's ingestion) on hosted clients.

``on_client(fn)`` registers ``fn(hosted)`` called when a client is built (add event handlers there);
``on_checkpoint(coro_fn)`` registers ``await coro_fn(hosted)`` run before update state is persisted,
so whatever consumed the updates has stored them first (nothing received is lost).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

_client_hooks: list[Callable[[Any], None]] = []
_checkpoint_hooks: list[Callable[[Any], Awaitable[None]]] = []


def on_client(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    _client_hooks.append(fn)
    return fn


def on_checkpoint(fn: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    _checkpoint_hooks.append(fn)
    return fn


def client_created(hosted: Any) -> None:
    for fn in _client_hooks:
        fn(hosted)


async def before_checkpoint(hosted: Any) -> None:
    for fn in _checkpoint_hooks:
        await fn(hosted)
