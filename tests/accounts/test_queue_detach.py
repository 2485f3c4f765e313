"""A stopping Celery consumer is detached from the host: queues it cancels are not started again by the
host's next tick (found on warm shutdowns, where hosts started every account's queue once more)."""

from __future__ import annotations

from accounts.host.queues import Consuming


class Consumer:
    """Stands in for Celery's consumer: records what the host asks to run on its thread."""

    def __init__(self) -> None:
        self.scheduled: list[object] = []

    def call_soon(self, fn) -> None:
        self.scheduled.append(fn)


def test_a_detached_consumer_is_asked_for_nothing_more():
    queues = Consuming()
    consumer = Consumer()
    queues.attach(consumer, [])
    queues.match(["acct.1", "acct.2"])
    assert len(consumer.scheduled) == 1  # attached: the match is applied on the consumer's thread
    consumer.scheduled.clear()
    queues.detach()
    queues.match(["acct.1", "acct.2"])
    queues.start("acct.3")
    assert consumer.scheduled == []


def test_a_consumer_attached_again_after_a_detach_gets_every_queue():
    queues = Consuming()
    queues.attach(Consumer(), ["acct.1"])
    queues.detach()
    again = Consumer()
    queues.attach(again, ["acct.1", "acct.2"])
    assert len(again.scheduled) == 1
