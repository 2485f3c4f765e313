"""Start real Switchboard processes (Celery workers, session hosts) for a test, and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def process_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that shares this test's database (the test database)."""
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgresql://{db['USER'] or ''}@{db['HOST'] or 'localhost'}/{db['NAME']}"
    env.setdefault("DEBUG", "1")
    env.update(extra)
    return env


def _start_worker(args: list[str], *, log, env: dict[str, str]) -> subprocess.Popen:
    """`celery -A crm worker <args>` with this test's database, quiet on gossip and mingle."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", *args,
         "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=process_env(**env), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


@contextmanager
def celery_worker(*, queue: str | None = None, pool: str = "solo", log_path: Path | None = None, **env: str):
    """A real `celery -A crm worker` process consuming its own queue; yields (queue, process)."""
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = _start_worker(["--pool", pool, "-Q", queue, "--hostname", f"{queue}@%h"], log=log, env=env)
    try:
        yield queue, proc
    finally:
        stop(proc)
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen, *, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def session_host(name: str, *, log_path: Path, env: dict[str, str], concurrency: int = 8):
    """A real session host: `celery -A crm worker --pool threads --session-host`, its own control queue."""
    queue = f"sessionhost-{name}-{uuid.uuid4().hex[:8]}"
    log = open(log_path, "ab")  # noqa: SIM115
    args = ["--pool", "threads", "--concurrency", str(concurrency), "-Q", queue, "--session-host",
            "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip
    proc = _start_worker(args, log=log, env=env)
    try:
        yield proc
    finally:
        stop(proc, timeout=40)
        log.close()


@contextmanager
def web_server(*, log_path: Path, env: dict[str, str] | None = None):
    """The real web process (uvicorn with crm.asgi, lifespan on) on a free loopback port; yields its URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "on", "--log-level", "warning"],
        cwd=ROOT, env=process_env(ALLOWED_HOSTS="127.0.0.1,localhost", **(env or {})), stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: _listening(port) or proc.poll() is not None, timeout=30, what="the web process")
        assert proc.poll() is None, log_path.read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False
