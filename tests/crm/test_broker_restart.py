"""A threads-pool worker (as every session host is) keeps taking work after its broker restarts while
tasks are running (found by the chaos run, docs/chaos.md: a host kept its queues and took nothing, one
pool thread stuck in basic.qos)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kombu import Connection

from tests.support import naps
from tests.support.chaos.services import PrivateServices, wait_listening
from tests.support.processes import ROOT, process_env, stop, wait_for

pytestmark = pytest.mark.slow

POOL = 8  # as a session host's


@pytest.fixture
def broker():
    """A RabbitMQ node of this test's own: the shared one serves other test runs."""
    services = PrivateServices()
    try:
        services.start_rabbitmq()
        yield services
    finally:
        services.stop()


def test_a_threads_worker_takes_new_tasks_after_the_broker_restarted_under_running_tasks(broker, tmp_path):
    url = broker.env("")["CELERY_BROKER_URL"]
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.support.naps", "worker", "--pool", "threads",
         "--concurrency", str(POOL), "-Q", "naps", "--loglevel", "INFO", "--without-gossip",
         "--without-mingle"],
        cwd=ROOT, env=process_env(NAPS_BROKER_URL=url), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def send(seconds: float, mark: str) -> None:
            with Connection(url) as conn:
                naps.nap.apply_async(args=[seconds, str(tmp_path / mark)], queue="naps", connection=conn)

        for n in range(POOL):  # every pool thread busy across the restart, acked after it
            send(6, f"long{n}")
        wait_for(lambda: b"received" in (tmp_path / "worker.log").read_bytes(), timeout=60, what="a start")
        broker.restart_rabbitmq()
        wait_listening(broker.amqp_port)
        wait_for(
            lambda: all((tmp_path / f"long{n}").exists() for n in range(POOL)), timeout=60, what="long naps"
        )
        for n in range(8 * POOL):  # each ack while the prefetch is being restored sends basic.qos
            send(0.05, f"short{n}")
        wait_for(
            lambda: all((tmp_path / f"short{n}").exists() for n in range(8 * POOL)),
            timeout=45,
            what="the tasks sent after the restart to run",
        )
    finally:
        stop(worker)
        log.close()
    # Celery's way back to full prefetch after a reconnect sends basic.qos from the pool thread that acks,
    # waiting for the answer on the connection the consumer's thread reads: whichever thread reads the
    # other's frames, the worker can stall for good. The race is rare in a small test, so this asserts
    # the worker never enters that mode.
    assert b"Temporarily reducing the prefetch count" not in (tmp_path / "worker.log").read_bytes()
