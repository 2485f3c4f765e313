"""A host freezes its heap each tick, and a periodic full collection frees what became garbage meanwhile."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from accounts.host.heap import Heap


class Node:
    """A reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed():
    yield
    gc.unfreeze()


def test_a_tick_leaves_what_exists_out_of_later_collections():
    node = Node()
    gone = weakref.ref(node)
    Heap(collect_every=600).tick(time.monotonic())
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert gone() is not None  # frozen: skipped by every collection


def test_the_periodic_full_collection_frees_cycles_that_became_garbage_while_frozen():
    heap = Heap(collect_every=600)
    node = Node()
    gone = weakref.ref(node)
    start = time.monotonic()
    heap.tick(start)
    del node
    heap.tick(start + 599)  # not yet
    assert gone() is not None
    heap.tick(start + 601)
    assert gone() is None
    assert gc.get_freeze_count() > 0  # and frozen again
