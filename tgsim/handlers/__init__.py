"""API method handlers. Importing this package registers every handler in tgsim.rpc.HANDLERS."""

from __future__ import annotations

import importlib

_MODULES = (
    "account",
    "auth",
    "channels",
    "chats",
    "contacts",
    "folders",
    "history",
    "messages",
    "updates",
    "upload",
    "users",
    "help",
)

for _name in _MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:
        # help.py belongs to the protocol layer and may be missing in a partial checkout; any other
        # missing module is a real error.
        if exc.name != f"{__name__}.{_name}":
            raise
