"""Two new conversations stored at the same moment by two session hosts (two threads, two connections,
two transactions) never both go to one operator past capacity: the team rows and the memberships are
locked while assigning (teams.assign)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from accounts.models import Account
from inbox import store
from inbox.models import Conversation
from inbox.records import Batch
from teams import assign, services
from tests.support.teams import online, record

pytestmark = pytest.mark.django_db(transaction=True)


def _race(monkeypatch, accounts: list[Account]) -> list[int | None]:
    """Store one new conversation per account in parallel transactions. Both reach the assignment
    together (a barrier), and each holds on for a moment after choosing, so that without the lock both
    would count the same free place."""
    barrier = threading.Barrier(len(accounts), timeout=20)
    waiting, choose = assign._waiting, assign._choose

    def waiting_together(ids):
        found = waiting(ids)
        barrier.wait()
        return found

    def choose_slowly(*args, **kwargs):
        picked = choose(*args, **kwargs)
        time.sleep(0.5)
        return picked

    monkeypatch.setattr(assign, "_waiting", waiting_together)
    monkeypatch.setattr(assign, "_choose", choose_slowly)
    messages = [record(account) for account in accounts]
    errors: list[BaseException] = []

    def host(message):
        try:
            store.ingest(Batch(messages=[message]))
        except BaseException as problem:
            errors.append(problem)
        finally:
            connection.close()

    threads = [threading.Thread(target=host, args=(m,)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    return [
        Conversation.objects.get(account_id=m.account_id, peer_id=m.peer.peer_id).assignee_id
        for m in messages
    ]


def test_two_arrivals_at_once_in_one_team_respect_capacity(make_account, admin_user, operator, monkeypatch):
    one, two = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    team = services.team_create(name="Sales")
    services.team_set_auto_assign(team=team, on=True)
    for account in (one, two):
        services.team_account_add(team=team, account_id=account.pk, by=admin_user)
    services.member_add(team=team, user_id=operator.pk, capacity=1, by=admin_user)
    online(operator)
    got = _race(monkeypatch, [one, two])
    assert sorted(got, key=str) == sorted([operator.pk, None], key=str)
    assert Conversation.objects.filter(assignee=operator).count() == 1


def test_two_arrivals_at_once_in_two_teams_sharing_an_operator_respect_capacity(
    make_account, admin_user, operator, monkeypatch
):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(2)]
    for n, account in enumerate(accounts):
        team = services.team_create(name=f"Team {n}")
        services.team_set_auto_assign(team=team, on=True)
        services.team_account_add(team=team, account_id=account.pk, by=admin_user)
        services.member_add(team=team, user_id=operator.pk, capacity=1, by=admin_user)
    online(operator)
    got = _race(monkeypatch, accounts)
    assert Conversation.objects.filter(assignee=operator).count() == 1
    assert got.count(None) == 1


def test_two_arrivals_at_once_go_one_to_each_of_two_free_operators(
    make_account, admin_user, operator, outsider, monkeypatch
):
    one, two = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    team = services.team_create(name="Sales")
    services.team_set_auto_assign(team=team, on=True)
    for account in (one, two):
        services.team_account_add(team=team, account_id=account.pk, by=admin_user)
    for user in (operator, outsider):
        services.member_add(team=team, user_id=user.pk, capacity=5, by=admin_user)
    online(operator, outsider)
    assert sorted(_race(monkeypatch, [one, two])) == sorted(
        [operator.pk, outsider.pk]
    )  # fair, not both to one
