"""A number Telegram has no account for is explained as such by the login flow, and the account can
start again with another step (nothing is left half done)."""

from __future__ import annotations

import pytest
from celery.result import AsyncResult

from accounts import onboarding
from accounts.models import Account
from tests.support.accounts import new_phone
from tests.support.processes import session_host

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait(task_id: str) -> dict:
    return AsyncResult(task_id).get(timeout=60)


def test_an_unregistered_number_is_explained_as_not_registered(tgsim, host_env, make_account, tmp_path):
    account = make_account(phone=new_phone())  # nobody in tgsim's world has this number
    with session_host("unreg", log_path=tmp_path / "host.log", env=host_env):
        sent = wait(onboarding.login_request_code(account=account))
        assert sent["ok"]  # Telegram sends a code to any number: it is the sign-in that tells
        result = wait(onboarding.login_submit_code(account=account, code="22222"))
    assert result["ok"] is False
    assert "not registered" in result["error"] and "no Telegram account" in result["error"]
    account.refresh_from_db()
    assert account.status != Account.Status.ACTIVE
