from __future__ import annotations

import pytest
from django.core.cache import cache

from crm.models import User


@pytest.fixture(autouse=True)
def _clear_cache():
    # Login throttling and rate-limit buckets live in Redis; every test starts clean.
    cache.clear()
    yield


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_user("ada", password="pw-admin-1", role=User.Role.ADMIN)


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user("otto", password="pw-operator-1", role=User.Role.OPERATOR)


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("olga", password="pw-outsider-1", role=User.Role.OPERATOR)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
