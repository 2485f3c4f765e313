"""How many accounts one session host should hold when several share a fleet.

The rule: the fair share is the accounts that want a host divided by the live hosts (this one and every
other holder of a live lease), rounded up. A host claims while it holds less than its fair share plus a
slack (5 %, at least 2) and its capacity. Above that bound (a host joined, or the fleet shrank) it hands
accounts back, at most SHED_BATCH per tick and only while no account is waiting for a host, each one
gracefully: queue stopped, final checkpoint, disconnect, lease released, the other hosts woken to claim
it. So a new host gets its share within a few ticks, and no account is cut off without its state saved
and its commands left waiting in its queue. The slack keeps hosts from trading accounts back and forth
when the count does not divide evenly or a host's view is a tick old.

Hosts do not know each other's capacity: when accounts have waited for a host longer than STARVING
(other hosts full, or gone), a host at its bound claims them anyway, up to its capacity.
"""

from __future__ import annotations

import math

from accounts.leases import Fleet

SLACK = 0.05
SLACK_MIN = 2
SHED_BATCH = 250
STARVING = 2.0  # lease TTLs for which accounts waited with every live host at its bound


def bound(fleet: Fleet, *, capacity: int) -> int:
    """The most accounts this host should hold."""
    share = math.ceil(fleet.wanting / (fleet.other_hosts + 1))
    return min(capacity, share + max(SLACK_MIN, math.ceil(share * SLACK)))


def room(fleet: Fleet, *, held: int, capacity: int, starving: bool) -> int:
    """How many more accounts to claim now."""
    limit = capacity if starving else bound(fleet, capacity=capacity)
    return max(limit - held, 0)


def excess(fleet: Fleet, *, held: int, capacity: int) -> int:
    """How many accounts to hand back now."""
    if fleet.free:
        return 0  # accounts are waiting: handing more back would only make them wait longer
    return min(max(held - bound(fleet, capacity=capacity), 0), SHED_BATCH)


class Share:
    """One host's claims and hand-backs, tick by tick."""

    def __init__(self, *, capacity: int, ttl: float) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._waiting_since: float | None = None  # accounts have waited since, this host at its bound

    def plan(self, fleet: Fleet, *, held: int, now: float) -> tuple[int, int]:
        """(accounts to claim, accounts to hand back) now."""
        if fleet.free and held >= bound(fleet, capacity=self.capacity):
            self._waiting_since = self._waiting_since if self._waiting_since is not None else now
        else:
            self._waiting_since = None
        starving = self._waiting_since is not None and now - self._waiting_since >= STARVING * self.ttl
        return (
            room(fleet, held=held, capacity=self.capacity, starving=starving),
            excess(fleet, held=held, capacity=self.capacity),
        )
