"""The session host of this worker process, if it is one (set by the worker's bootstep)."""

from __future__ import annotations

from accounts.host.interface import Host

_host: Host | None = None


def set_current_host(host: Host | None) -> None:
    global _host
    _host = host


def current_host() -> Host | None:
    return _host
