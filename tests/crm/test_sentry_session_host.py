"""A command that Telegram refuses in a way we have no flow for, on a real session host, sends Sentry an
event without the secrets it held."""

from __future__ import annotations

import pytest

from accounts import onboarding, registry, sessions
from accounts.models import Account
from tests.support.accounts import new_phone
from tests.support.processes import session_host, wait_for
from tests.support.sentry import leaks, sentry_collector

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_sign_in_that_crashes_on_the_host_reaches_sentry_without_the_code_or_the_auth_key(
    tgsim, host_env, make_account, api_app, tmp_path
):
    phone = new_phone()
    tgsim.world_call("create_user", phone=phone, first_name="Sentry")
    account = make_account(phone=phone)
    code = phone[5] * 5  # the test-DC login code
    with (
        sentry_collector() as (dsn, bodies),
        session_host("s", log_path=tmp_path / "host.log", env={**host_env, "SENTRY_DSN": dsn}),
    ):
        sent = registry.wait(onboarding.login_request_code(account=account), timeout=60)
        assert sent["status"] == Account.Status.CODE_SENT
        # A 403 our error table has no flow for: the command fails with the code in hand.
        tgsim.fault("inject", "PREMIUM_ACCOUNT_REQUIRED", code=403, method="auth.signIn")
        with pytest.raises(registry.CommandError) as failed:
            registry.wait(onboarding.login_submit_code(account=account, code=code), timeout=60)
        assert failed.value.code == "PREMIUM_ACCOUNT_REQUIRED"
        wait_for(
            lambda: any(b"PremiumAccountRequiredError" in body for body in bodies),
            timeout=30,
            what="the host's Sentry event",
        )
        auth_key = sessions.session_load(account_id=account.pk)[0].auth_key

    assert auth_key and any(b"auth.sign_in" in body for body in bodies)
    assert leaks(bodies, code) == []
    assert leaks(bodies, auth_key) == []
    assert leaks(bodies, api_app.api_hash()) == []
