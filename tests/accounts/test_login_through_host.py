from __future__ import annotations

import pytest
from celery.result import AsyncResult

from accounts import onboarding
from accounts.models import Account, AccountEvent
from tests.support.accounts import new_phone
from tests.support.processes import session_host

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait(task_id: str) -> dict:
    return AsyncResult(task_id).get(timeout=60)


def test_an_account_logs_in_with_a_code_through_a_session_host(tgsim, host_env, make_account, tmp_path):
    phone = new_phone()
    user_id = tgsim.world_call("create_user", phone=phone, first_name="Alice")
    account = make_account(phone=phone)
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        sent = wait(onboarding.login_request_code(account=account))
        assert sent["ok"] and sent["status"] == Account.Status.CODE_SENT
        account.refresh_from_db()
        assert account.status == Account.Status.CODE_SENT
        result = wait(onboarding.login_submit_code(account=account, code="22222"))
    assert result["ok"] and result["status"] == Account.Status.ACTIVE
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert account.telegram_id == user_id
    assert account.first_name == "Alice"
    kinds = list(AccountEvent.objects.filter(account=account).values_list("kind", "to_status"))
    assert ("status", "code_sent") in kinds and ("status", "active") in kinds
    assert account.session.version >= 1


def test_a_wrong_code_keeps_the_account_at_its_step_and_2fa_follows_the_right_one(
    tgsim, host_env, make_account, tmp_path
):
    phone = new_phone()
    tgsim.world_call("create_user", phone=phone, first_name="Bob", password="correct horse")
    account = make_account(phone=phone)
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        assert wait(onboarding.login_request_code(account=account))["ok"]
        wrong = wait(onboarding.login_submit_code(account=account, code="11111"))
        assert wrong == {"ok": False, "error": "The login code is wrong", "status": ""}
        account.refresh_from_db()
        assert account.status == Account.Status.CODE_SENT

        needs_password = wait(onboarding.login_submit_code(account=account, code="22222"))
        assert needs_password["status"] == Account.Status.PASSWORD_NEEDED
        bad = wait(onboarding.login_submit_password(account=account, password="wrong"))
        assert bad["ok"] is False and bad["error"] == "The 2FA password is wrong"
        good = wait(onboarding.login_submit_password(account=account, password="correct horse"))
    assert good["ok"] and good["status"] == Account.Status.ACTIVE
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert AccountEvent.objects.filter(account=account, kind="login_failed").count() == 2
