from __future__ import annotations

import itertools

import pytest

from accounts import services
from accounts.models import Account

_phones = itertools.count(1)


@pytest.fixture
def api_app(db):
    return services.api_app_create(name="Switchboard test", api_id=611335, api_hash="0123456789abcdef" * 2)


@pytest.fixture
def make_account(api_app):
    def make(*, phone: str | None = None, status: str = Account.Status.NEW) -> Account:
        account = services.account_create(phone=phone or f"99966{2}{next(_phones):04d}", api_app=api_app)
        if status != Account.Status.NEW:
            Account.objects.filter(pk=account.pk).update(status=status)
            account.refresh_from_db()
        return account

    return make
