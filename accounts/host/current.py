"""The session host of this worker process, if it is one (set by the worker's bootstep)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.host.runtime import SessionHost

_host: SessionHost | None = None


def set_current_host(host: SessionHost | None) -> None:
    global _host
    _host = host


def current_host() -> SessionHost | None:
    return _host
