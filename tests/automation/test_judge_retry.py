"""The judge task runs again after a database error (a deadlock): nothing it was given is lost."""

from __future__ import annotations

from django.db import OperationalError

from automation import services, tasks


def test_a_database_error_runs_the_judge_again(monkeypatch):
    calls: list[list[int]] = []

    def flaky(*, message_ids):
        calls.append(list(message_ids))
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return len(message_ids)

    monkeypatch.setattr(services, "messages_judge", flaky)
    tasks.messages_judge.apply(args=[[7, 8]], throw=False)  # eager: the retry runs at once, in place
    assert calls == [[7, 8], [7, 8]]
