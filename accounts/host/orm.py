"""The ORM off the host loop: a leaf module, so command bodies and the host share it without a cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a Django ORM function off the event loop, in a thread with its own connection."""

    def call(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        return fn(*args, **kwargs)

    return sync_to_async(call, thread_sensitive=False)
