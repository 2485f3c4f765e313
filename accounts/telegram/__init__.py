"""Telethon stays here: small async functions per area of Telegram's API that turn Telethon objects into
the plain dataclasses of ``accounts.telegram.records``.

Importing this package loads no Telethon: its submodules load on first use (``telegram.messages``), so
code the web imports can write ``from accounts import telegram`` and call ``telegram.messages.…`` inside
an async body that only ever runs on the session host.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.telegram import (
        auth,
        chats,
        client,
        dialogs,
        errors,
        internals,
        media,
        members,
        messages,
        peers,
        profile,
        records,
        session,
        updates,
    )

__all__ = [
    "auth",
    "chats",
    "client",
    "dialogs",
    "errors",
    "internals",
    "media",
    "members",
    "messages",
    "peers",
    "profile",
    "records",
    "session",
    "updates",
]
_SUBMODULES = frozenset(__all__)


def __getattr__(name: str) -> ModuleType:
    """Load a submodule when it is first named (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
