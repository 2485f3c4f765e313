"""Helpers every handler module uses."""

from __future__ import annotations

import inspect

from tgsim.access import require_active
from tgsim.model import User
from tgsim.rpc import Call


def me(call: Call) -> User:
    """The signed-in, active user behind this call (401 before sign-in or once deactivated)."""
    return require_active(call.world, call.require_user())


async def maybe_await(value: object) -> object:
    """Server methods may be sync or async; accept both."""
    if inspect.isawaitable(value):
        return await value
    return value
