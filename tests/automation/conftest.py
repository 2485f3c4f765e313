"""Automation tests run a real session host and a real general worker on a queue of their own: the
host's messages_stored receiver queues automation.messages_judge on the default queue, which these
processes are told is the test's private queue (no other test run, or running demo, takes its tasks)."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import celery_worker, session_host


@pytest.fixture
def judge_queue() -> str:
    return f"test-automation-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def automation_env(host_env, judge_queue) -> dict[str, str]:
    return {**host_env, "CELERY_DEFAULT_QUEUE": judge_queue}


@pytest.fixture
def stack(automation_env, judge_queue, tmp_path):
    """``with stack():`` a session host and a general worker, both on this test's queues."""

    @contextmanager
    def run(name: str = "a", *, worker: bool = True, host: bool = True):
        with _maybe(host, session_host(name, log_path=tmp_path / f"host-{name}.log", env=automation_env)):
            if not worker:
                yield
                return
            with celery_worker(
                queue=judge_queue, log_path=_log(tmp_path, f"worker-{name}"), CELERY_DEFAULT_QUEUE=judge_queue
            ):
                yield

    return run


@contextmanager
def _maybe(on: bool, context):
    if on:
        with context:
            yield
    else:
        yield


def _log(tmp_path: Path, name: str) -> Path:
    n = 0
    while (tmp_path / f"{name}-{n}.log").exists():
        n += 1
    return tmp_path / f"{name}-{n}.log"
