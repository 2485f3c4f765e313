"""Celery bootsteps that turn a worker started with ``--session-host`` into a session host."""

from __future__ import annotations

import os
import uuid
from typing import Any

from celery import bootsteps
from celery.worker.control import control_command

from accounts.host.current import current_host, set_current_host
from accounts.host.runtime import SessionHost


class SessionHostStep(bootsteps.StartStopStep):
    """Runs the SessionHost (its own thread and asyncio loop) for the worker's lifetime."""

    label = "Session host"

    def __init__(self, worker: Any, session_host: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(session_host)
        self.host: Any = None
        super().__init__(worker, **kwargs)

    def create(self, worker: Any) -> Any:
        # Unique per process: a restarted host must not mistake its previous life's leases for its own.
        self.host = SessionHost(name=f"{worker.hostname}/{os.getpid()}/{uuid.uuid4().hex[:6]}")
        set_current_host(self.host)
        return self

    def start(self, worker: Any) -> None:
        self.host.start()

    def stop(self, worker: Any) -> None:
        if self.host is not None:
            self.host.stop()

    def terminate(self, worker: Any) -> None:
        self.stop(worker)


class SessionHostQueues(bootsteps.StartStopStep):
    """Hands the (re)started task consumer to the host so it consumes the held accounts' queues."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, consumer: Any) -> None:
        host = current_host()
        if host is not None:
            host.attach_consumer(consumer)

    def stop(self, consumer: Any) -> None:
        # Before Celery's task consumer cancels its queues (this step comes after it, and steps stop in
        # reverse): the host's next tick would otherwise start them again during a warm shutdown.
        host = current_host()
        if host is not None:
            host.detach_consumer()

    shutdown = stop


@control_command()
def sessionhost_wake(state: Any) -> dict[str, str]:
    """Remote control: ``app.control.broadcast("sessionhost_wake")`` makes session hosts claim now."""
    host = current_host()
    if host is not None:
        host.wake()
    return {"ok": "woken" if host else "not a session host"}


@control_command()
def sessionhost_status(state: Any) -> dict[str, Any]:
    """Remote control: ``app.control.broadcast("sessionhost_status", reply=True)`` → accounts held and
    ready (connected, signed in where needed, taking commands) on each session host."""
    host = current_host()
    if host is None:
        return {"ok": "not a session host"}
    return {"ok": "session host", **host.status()}


@control_command()
def sessionhost_accounts(state: Any, ids: list[int] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Remote control: ``broadcast("sessionhost_accounts", arguments={"ids": [...]}, reply=True)`` → how
    each session host sees those of the accounts it holds (the chaos run explains what is still open)."""
    host = current_host()
    if host is None:
        return {"ok": "not a session host"}
    return {"ok": "session host", "accounts": host.account_states(list(ids))}
