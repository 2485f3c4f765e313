"""When each held account's next checkpoint is due, so that a host's tick looks only at the accounts due.

Scanning every account held on every tick cost an idle host of 5,000 accounts more than the checkpoints
it found to do (nearly all of them have nothing new). Accounts wait in a heap by due time instead; one
popped is checked (lifecycle.checkpoint_has_work) and goes back an interval later.
"""

from __future__ import annotations

import heapq
import itertools

from accounts.host import lifecycle
from accounts.host.hosted import Hosted


class Schedule:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hosted]] = []
        self._order = itertools.count()  # ties never compare two Hosted

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, hosted: Hosted, *, at: float) -> None:
        heapq.heappush(self._heap, (at, next(self._order), hosted))

    def due(self, now: float, *, held: dict[int, Hosted], interval: float) -> list[Hosted]:
        """The accounts whose checkpoint is due and has work. Each is due again ``interval`` after its last
        checkpoint; one not connected yet at every call until it is; one no longer ``held`` never again."""
        found, waiting = [], []
        while self._heap and self._heap[0][0] <= now:
            _, _, hosted = heapq.heappop(self._heap)
            if held.get(hosted.account_id) is not hosted:
                continue  # dropped (or claimed again: the new claim has its own entry)
            # Compared as the time it is due, never as now - checkpointed_at < interval: the two can
            # disagree by a rounding error, and the account would go back as due at once, for ever.
            due_at = hosted.checkpointed_at + interval
            if not hosted.ready.is_set():
                waiting.append(hosted)
            elif due_at > now:  # checkpointed meanwhile (a command, a login)
                self.add(hosted, at=due_at)
            else:
                if lifecycle.checkpoint_has_work(hosted):
                    found.append(hosted)  # checkpointed_at is set once it is done
                else:
                    hosted.checkpointed_at = now
                self.add(hosted, at=now + interval)
        for hosted in waiting:
            self.add(hosted, at=now)
        return found
