"""A team world: two accounts owned by team Sales with auto-assignment on, and operators Otto and Bea as
members, both online (seen just now)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.models import Account
from crm.models import User
from teams import services
from tests.support.teams import online


@pytest.fixture
def bea(db) -> User:
    return User.objects.create_user("bea", password="pw-bea-1", role=User.Role.OPERATOR)


@pytest.fixture
def sales(make_account, admin_user, operator, bea):
    one = make_account(status=Account.Status.ACTIVE)
    two = make_account(status=Account.Status.ACTIVE)
    team = services.team_create(name="Sales")
    services.team_set_auto_assign(team=team, on=True)
    for account in (one, two):
        services.team_account_add(team=team, account_id=account.pk, by=admin_user)
    otto_member = services.member_add(team=team, user_id=operator.pk, capacity=5, by=admin_user)
    bea_member = services.member_add(team=team, user_id=bea.pk, capacity=5, by=admin_user)
    online(operator, bea)
    team.refresh_from_db()
    return SimpleNamespace(team=team, one=one, two=two, otto=otto_member, bea=bea_member)
