"""Which account command queues the host's Celery consumer takes from, changed in batches.

Celery's ``add_task_queue`` declares the exchange, the queue and its binding and starts the consumer,
waiting for RabbitMQ's answer to each (four round trips), and kombu's ``consume()`` then walks every
queue it has: a host starting 5,000 accounts spent over a minute on its consumer thread, where
commands are received. Here the starts and stops asked for meanwhile are applied together on the
consumer's thread, in order: new queues are declared without waiting for answers, and only the new
ones are started (kombu's private ``Consumer._basic_consume``, what ``consume()`` calls for each;
kombu offers nothing public for it), without waiting for answers: a refused request closes the
channel, Celery then reconnects, and ``attach`` consumes everything again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)


class Consuming:
    def __init__(self) -> None:
        self._consumer: Any = None
        self._changes: list[tuple[bool, str]] = []  # (start?, queue), in the order asked
        self._lock = threading.Lock()  # the host loop asks, the consumer's thread applies
        self.started = 0  # queues started so far, and the consumer thread's time spent starting them
        self.seconds = 0.0

    def attach(self, consumer: Any, queues: list[str]) -> None:
        """The Celery consumer (re)started: consume ``queues`` (every account held) and nothing else."""
        with self._lock:
            self._consumer = consumer
            self._changes = [(True, queue) for queue in queues]
        if queues:
            consumer.call_soon(self._apply)

    def start(self, queue: str) -> None:
        self._change(True, queue)

    def stop(self, queue: str) -> None:
        self._change(False, queue)

    def _change(self, start: bool, queue: str) -> None:
        with self._lock:
            self._changes.append((start, queue))
            consumer = self._consumer if len(self._changes) == 1 else None
        if consumer is not None:
            consumer.call_soon(self._apply)  # the first change since the last apply schedules one

    def _apply(self) -> None:
        """On the consumer's thread."""
        with self._lock:
            changes, self._changes = self._changes, []
            consumer = self._consumer
        if consumer is None:
            return
        starting: list[str] = []
        for start, queue in changes:
            if start:
                starting.append(queue)
                continue
            if starting:
                self._start_all(consumer, starting)
                starting = []
            consumer.cancel_task_queue(queue)
        if starting:
            self._start_all(consumer, starting)

    def _start_all(self, consumer: Any, names: list[str]) -> None:
        began = time.monotonic()
        added = _start_all(consumer, names)
        self.started += added
        self.seconds += time.monotonic() - began


def _start_all(consumer: Any, names: list[str]) -> int:
    began = time.monotonic()
    tasks = consumer.task_consumer
    known = consumer.app.amqp.queues
    auto_declare = tasks.auto_declare
    tasks.auto_declare = False  # declared below, without waiting for each answer
    try:
        added = 0
        for name in dict.fromkeys(names):
            if tasks.consuming_from(name):
                continue
            # As Celery's add_task_queue: the queue, routed through a direct exchange of its own name.
            if name in known:
                queue = known.select_add(known[name])
            else:
                queue = known.select_add(name, exchange=name, exchange_type="direct", routing_key=name)
            tasks.add_queue(queue).declare(nowait=True)
            added += 1
    finally:
        tasks.auto_declare = auto_declare
    if added:
        # kombu's consume() walks every queue the consumer has: a start of one queue at a time among
        # 10,000 would cost O(n²). Only the new ones are started here (what consume() does for each),
        # none waiting for an answer: accounts become ready a few at a time, and a round trip per batch
        # kept the consumer's thread waiting for most of a mass connect.
        new = [tasks._queues[name] for name in dict.fromkeys(names) if not tasks.consuming_from(name)]
        for queue in new:
            tasks._basic_consume(queue, no_ack=tasks.no_ack, nowait=True)
        log.info("consuming %d more command queues (%.0f ms)", added, (time.monotonic() - began) * 1000)
    return added
