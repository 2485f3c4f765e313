"""The wizard's errors as Telegram (tgsim) and a real session host give them, through the console's views."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account
from tests.support.accounts import new_phone
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = Account.Status


def run_step(client, account, name, data):
    """Post a wizard step, then poll like the page does until the step's result is in."""
    client.post(reverse(name, args=[account.pk]), data, HTTP_HX_REQUEST="true")
    poll = reverse("accounts:login_poll", args=[account.pk])

    def settled():
        html = client.get(poll, HTTP_HX_REQUEST="true").content.decode()
        return None if 'data-step="pending"' in html else html

    return wait_for(settled, timeout=60, interval=0.3, what=f"the {name} step to finish")


def test_each_login_error_is_said_in_plain_words_and_keeps_the_step(
    admin_client, tgsim, browser_host_env, make_account, tmp_path
):
    phone = new_phone()
    tgsim.world_call("create_user", phone=phone, first_name="Erin")
    account = make_account(phone=phone)
    send = {"confirm": "1"}  # past the third code of the day the wizard asks for a confirmation
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        tgsim.fault("inject", "API_ID_INVALID", method="auth.sendCode")
        html = run_step(admin_client, account, "accounts:request_code", send)
        assert "Telegram rejected the API id / hash pair" in html and 'data-step="send_code"' in html

        tgsim.fault("inject", "PHONE_NUMBER_INVALID", method="auth.sendCode")
        html = run_step(admin_client, account, "accounts:request_code", send)
        assert "That phone number is not valid" in html and 'data-step="send_code"' in html

        html = run_step(admin_client, account, "accounts:request_code", send)
        assert 'data-step="code"' in html

        tgsim.fault("inject", "PHONE_NUMBER_UNOCCUPIED", method="auth.signIn")
        html = run_step(admin_client, account, "accounts:submit_code", {"code": "22222"})
        assert "This number has no Telegram account" in html and 'data-step="code"' in html

        tgsim.fault("inject", "PHONE_CODE_EXPIRED", method="auth.signIn")
        html = run_step(admin_client, account, "accounts:submit_code", {"code": "22222"})
        assert "The login code expired; request a new one" in html and 'data-step="code"' in html

        html = run_step(admin_client, account, "accounts:request_code", send)
        html = run_step(admin_client, account, "accounts:submit_code", {"code": "22222"})
        assert 'data-step="done"' in html
    account.refresh_from_db()
    assert account.status == S.ACTIVE and account.login_attempts_today == 0


def test_a_flood_wait_shows_the_time_left_and_a_blind_retry_gets_the_same_answer(
    admin_client, tgsim, browser_host_env, make_account, tmp_path
):
    phone = new_phone()
    tgsim.world_call("create_user", phone=phone, first_name="Fred")
    account = make_account(phone=phone)
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        tgsim.fault("inject", "FLOOD_WAIT_120", method="auth.sendCode")
        html = run_step(admin_client, account, "accounts:request_code", {})
        assert "Telegram asks to wait 120 s" in html and "You can try again in <time data-countdown" in html
        # Telethon remembers the wait and refuses the same request until it is over, as Telegram would.
        html = run_step(admin_client, account, "accounts:request_code", {})
        assert "Telegram asks to wait" in html and 'data-step="send_code"' in html
    account.refresh_from_db()
    assert account.status == S.NEW
