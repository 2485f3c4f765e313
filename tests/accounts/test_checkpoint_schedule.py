"""A host's tick looks only at the accounts whose checkpoint is due, never at every account it holds."""

from __future__ import annotations

import pytest

from accounts.host import checkpoints, lifecycle
from accounts.host.hosted import Hosted
from accounts.leases import Grant

INTERVAL = 15.0
T = 1000.0  # monotonic seconds: a host that has been up a while


@pytest.fixture
def looked_at(monkeypatch) -> list[int]:
    """The accounts whose update state the schedule compared (what cost an idle host a scan of all)."""
    seen: list[int] = []

    def has_work(hosted: Hosted) -> bool:
        seen.append(hosted.account_id)
        return hosted.account_id % 2 == 0  # even ones received something

    monkeypatch.setattr(lifecycle, "checkpoint_has_work", has_work)
    return seen


def ready(n: int) -> Hosted:
    hosted = Hosted(grant=Grant(account_id=n, token=1), lease_deadline=0.0)
    hosted.ready.set()
    return hosted


def test_only_the_accounts_due_are_looked_at_and_only_those_with_news_are_checkpointed(looked_at):
    schedule = checkpoints.Schedule()
    held = {n: ready(n) for n in range(1000)}
    for n, hosted in held.items():
        schedule.add(hosted, at=T + n / 100)  # claimed over ten seconds

    due = schedule.due(T + 1.995, held=held, interval=INTERVAL)

    assert sorted(looked_at) == list(range(200))
    assert [h.account_id for h in due] == list(range(0, 200, 2))
    # Each is looked at again an interval after this look, not at every tick meanwhile.
    looked_at.clear()
    due = schedule.due(T + 1.995 + INTERVAL - 0.001, held=held, interval=INTERVAL)
    assert looked_at == list(range(200, 1000))  # the rest, due meanwhile, and nobody twice
    assert [h.account_id for h in due] == list(range(200, 1000, 2))
    looked_at.clear()
    schedule.due(T + 1.995 + INTERVAL, held=held, interval=INTERVAL)
    assert sorted(looked_at) == list(range(200))


def test_a_dropped_account_leaves_the_schedule_and_a_new_claim_of_it_has_its_own_place(looked_at):
    schedule = checkpoints.Schedule()
    old = ready(7)
    schedule.add(old, at=T)
    new = ready(7)
    held = {7: new}
    schedule.add(new, at=T + 5)

    assert schedule.due(T + 1, held=held, interval=INTERVAL) == []
    assert looked_at == []  # the old client's entry is gone for good
    schedule.due(T + 5, held=held, interval=INTERVAL)
    assert looked_at == [7]
    assert len(schedule) == 1


def test_an_account_not_connected_yet_is_looked_at_each_tick_until_it_is(looked_at):
    schedule = checkpoints.Schedule()
    connecting = Hosted(grant=Grant(account_id=2, token=1), lease_deadline=0.0)
    held = {2: connecting}
    schedule.add(connecting, at=T)

    assert schedule.due(T + 10, held=held, interval=INTERVAL) == []
    assert schedule.due(T + 20, held=held, interval=INTERVAL) == []
    connecting.ready.set()
    assert schedule.due(T + 30, held=held, interval=INTERVAL) == [connecting]


def test_a_checkpoint_made_meanwhile_moves_the_next_one_an_interval_after_it(looked_at):
    schedule = checkpoints.Schedule()
    busy = ready(4)
    held = {4: busy}
    schedule.add(busy, at=T)
    assert schedule.due(T, held=held, interval=INTERVAL) == [busy]
    busy.checkpointed_at = T + 10  # the checkpoint ran; then a login step checkpointed it again

    assert schedule.due(T + 15, held=held, interval=INTERVAL) == []
    assert schedule.due(T + 25, held=held, interval=INTERVAL) == [busy]
    assert looked_at == [4, 4]


def test_an_account_due_at_the_very_moment_of_the_tick_is_looked_at_once(looked_at):
    """checkpointed_at + interval can equal now while now - checkpointed_at is still below the interval
    (a rounding error): the account must not go back as due at once, round and round."""
    schedule = checkpoints.Schedule()
    quiet = ready(3)
    quiet.checkpointed_at = 2044.1505831477546
    now = quiet.checkpointed_at + INTERVAL
    assert now - quiet.checkpointed_at < INTERVAL  # the rounding error itself
    held = {3: quiet}
    schedule.add(quiet, at=now)

    assert schedule.due(now, held=held, interval=INTERVAL) == []
    assert looked_at == [3]
