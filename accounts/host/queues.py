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
from collections.abc import Iterable
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


class Consuming:
    def __init__(self) -> None:
        self._consumer: Any = None
        # ("start" | "stop", queue) or ("match", every queue wanted), in the order asked
        self._changes: list[tuple[str, Any]] = []
        self._lock = threading.Lock()  # the host loop asks, the consumer's thread applies
        self.started = 0  # queues started so far, and the consumer thread's time spent starting them
        self.seconds = 0.0

    def attach(self, consumer: Any, queues: list[str]) -> None:
        """The Celery consumer (re)started: consume ``queues`` (every account held) and nothing else."""
        with self._lock:
            self._consumer = consumer
            self._changes = [("start", queue) for queue in queues]
        if queues:
            consumer.call_soon(self._apply)

    def detach(self) -> None:
        """The Celery consumer is stopping (a warm shutdown, or a restart after the broker connection
        dropped): it cancels its queues itself, and none is started again until it is attached anew."""
        with self._lock:
            self._consumer = None
            self._changes = []

    def start(self, queue: str) -> None:
        self._change("start", queue)

    def stop(self, queue: str) -> None:
        self._change("stop", queue)

    def match(self, queues: Iterable[str]) -> None:
        """Consume exactly these account queues, whatever starts and stops were lost on the way (a
        change pending while the broker connection dropped); applied in order with the others."""
        self._change("match", frozenset(queues))

    def _change(self, kind: str, what: Any) -> None:
        with self._lock:
            self._changes.append((kind, what))
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
        for kind, what in changes:
            if kind == "start":
                starting.append(what)
                continue
            if starting:
                self._start_all(consumer, starting)
                starting = []
            if kind == "stop":
                consumer.cancel_task_queue(what)
            else:
                self._match(consumer, what)
        if starting:
            self._start_all(consumer, starting)

    def _match(self, consumer: Any, wanted: frozenset[str]) -> None:
        tasks = consumer.task_consumer
        if tasks is None:
            return  # reconnecting: attach() consumes every held account's queue once it has started
        missing = [queue for queue in wanted if not tasks.consuming_from(queue)]
        if missing:
            log.warning("consuming %d command queues that were lost on the way", len(missing))
            self._start_all(consumer, missing)
        prefix = f"{settings.COMMAND_QUEUE_PREFIX}."
        for queue in {q.name for q in tasks.queues} - wanted:
            if queue.startswith(prefix) and tasks.consuming_from(queue):
                consumer.cancel_task_queue(queue)

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
