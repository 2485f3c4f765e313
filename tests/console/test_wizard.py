"""The login wizard's pages and their errors, without a session host: step outcomes are recorded the
way a host records them (tests.support.operations)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import onboarding
from accounts.host.commands import SOMETHING_WENT_WRONG
from accounts.models import Account, AccountEvent, ApiApp
from tests.support.operations import crash
from tests.support.operations import finish as record

pytestmark = pytest.mark.django_db
S = Account.Status
HASH = "0123456789abcdef" * 2


def htmx_post(client, name, data=None, *args):
    return client.post(reverse(name, args=args), data or {}, HTTP_HX_REQUEST="true")


def finish(client, account, result):
    """What a session host does at the end of a step: record the command's outcome."""
    task_id = client.session["console_tasks"][str(account.pk)]["id"]
    record(task_id, result)
    return client.get(
        reverse("accounts:login_poll", args=[account.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()


def test_the_first_steps_register_the_api_app_then_create_the_account(admin_client):
    step1 = htmx_post(
        admin_client, "accounts:new", {"step": "app", "name": "Ours", "api_id": 12345, "api_hash": HASH}
    )
    html = step1.content.decode()
    assert 'data-step="phone"' in html and HASH not in html
    app_row = ApiApp.objects.get(api_id=12345)
    step2 = htmx_post(
        admin_client, "accounts:new", {"step": "phone", "api_app": app_row.pk, "phone": "+999 66 2 0001"}
    )
    account = Account.objects.get(phone="9996620001")
    assert step2["HX-Push-Url"] == reverse("accounts:login", args=[account.pk])
    assert 'data-step="send_code"' in step2.content.decode()


def test_a_bad_api_hash_and_an_invalid_number_are_said_in_plain_words(admin_client, api_app):
    bad_hash = htmx_post(
        admin_client, "accounts:new", {"step": "app", "name": "x", "api_id": 9, "api_hash": "nope"}
    )
    assert "32-character hex string" in bad_hash.content.decode()
    bad_phone = htmx_post(
        admin_client, "accounts:new", {"step": "phone", "api_app": api_app.pk, "phone": "12"}
    )
    assert "international format" in bad_phone.content.decode()
    assert not Account.objects.exists()


def test_a_number_already_in_the_fleet_is_refused(admin_client, make_account, api_app):
    existing = make_account()
    html = htmx_post(
        admin_client, "accounts:new", {"step": "phone", "api_app": api_app.pk, "phone": existing.phone}
    )
    assert "already exists" in html.content.decode()


def test_requesting_a_code_waits_for_the_host_then_asks_for_the_code(admin_client, make_account):
    account = make_account()
    pending = htmx_post(admin_client, "accounts:request_code", {}, account.pk).content.decode()
    assert "Asking Telegram for a code" in pending
    assert f'hx-get="{reverse("accounts:login_poll", args=[account.pk])}"' in pending
    Account.objects.filter(pk=account.pk).update(status=S.CODE_SENT)  # what the host's step does
    html = finish(admin_client, account, {"ok": True, "status": S.CODE_SENT})
    assert 'data-step="code"' in html and "Enter it here" in html


def test_a_wrong_code_keeps_the_account_at_the_code_step_with_the_reason(admin_client, make_account):
    account = make_account(status=S.CODE_SENT)
    htmx_post(admin_client, "accounts:submit_code", {"code": "11111"}, account.pk)
    onboarding.login_failed(account_id=account.pk, reason="The login code is wrong")
    html = finish(admin_client, account, {"ok": False, "error": "The login code is wrong", "status": ""})
    assert 'data-step="code"' in html and "The login code is wrong" in html
    # A reload loses nothing: the same step, the same reason.
    again = admin_client.get(reverse("accounts:login", args=[account.pk])).content.decode()
    assert 'data-step="code"' in again and "The login code is wrong" in again


def test_codes_and_passwords_never_reach_the_database_in_clear(admin_client, make_account):
    account = make_account(status=S.CODE_SENT)
    htmx_post(admin_client, "accounts:submit_code", {"code": "24680"}, account.pk)
    Account.objects.filter(pk=account.pk).update(status=S.PASSWORD_NEEDED)
    htmx_post(admin_client, "accounts:submit_password", {"password": "tr0ub4dor&3"}, account.pk)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reason, detail::text FROM accounts_accountevent")
        stored = repr(cursor.fetchall())
        cursor.execute("SELECT session_data FROM django_session")
        sessions = repr(cursor.fetchall())
    assert "24680" not in stored and "tr0ub4dor" not in stored
    assert "24680" not in sessions and "tr0ub4dor" not in sessions


def test_the_password_step_shows_the_hint_and_the_wrong_password_error(admin_client, make_account):
    account = make_account(status=S.CODE_SENT)
    onboarding.password_needed(account_id=account.pk, hint="pet's name")
    html = admin_client.get(reverse("accounts:login", args=[account.pk])).content.decode()
    assert 'data-step="password"' in html and "pet&#x27;s name" in html
    htmx_post(admin_client, "accounts:submit_password", {"password": "wrong"}, account.pk)
    onboarding.login_failed(account_id=account.pk, reason="The 2FA password is wrong")
    html = finish(admin_client, account, {"ok": False, "error": "The 2FA password is wrong", "status": ""})
    assert 'data-step="password"' in html and "The 2FA password is wrong" in html


def test_a_flood_wait_shows_the_time_left(admin_client, make_account):
    account = make_account()
    htmx_post(admin_client, "accounts:request_code", {}, account.pk)
    reason = "Telegram asks to wait 300 s before trying again"
    onboarding.login_failed(account_id=account.pk, reason=reason)
    html = finish(admin_client, account, {"ok": False, "error": reason, "status": ""})
    assert reason in html and "You can try again in <time data-countdown" in html


def test_a_banned_number_says_so_and_offers_only_deletion(admin_client, make_account):
    account = make_account()
    htmx_post(admin_client, "accounts:request_code", {}, account.pk)
    reason = "Telegram banned this phone number (PHONE_NUMBER_BANNED)"
    from accounts.services import account_transition

    account_transition(account_id=account.pk, to=S.BANNED, reason=reason, force=True)
    html = finish(admin_client, account, {"ok": False, "error": reason, "status": S.BANNED})
    assert 'data-step="banned"' in html and reason in html and "Delete the account" in html
    refused = htmx_post(admin_client, "accounts:restart", {}, account.pk).content.decode()
    assert "cannot log in again" in refused
    account.refresh_from_db()
    assert account.status == S.BANNED


def test_it_warns_before_requesting_another_code_after_several_today(admin_client, make_account, settings):
    settings.LOGIN_ATTEMPTS_WARNING = 2
    account = make_account()
    for _ in range(2):
        onboarding.login_request_code(account=account)
        account.refresh_from_db()
    html = admin_client.get(reverse("accounts:login", args=[account.pk])).content.decode()
    assert "2 codes were already requested" in html or "Several codes were already requested" in html
    assert "Send a code anyway" in html
    refused = htmx_post(admin_client, "accounts:request_code", {}, account.pk).content.decode()
    assert "2 codes were already requested for this number today" in refused
    assert "console_tasks" not in admin_client.session
    htmx_post(admin_client, "accounts:request_code", {"confirm": "1"}, account.pk)
    account.refresh_from_db()
    assert account.login_attempts_today == 3


def test_a_crashed_step_is_reported_and_the_account_stays_put(admin_client, make_account):
    account = make_account()
    htmx_post(admin_client, "accounts:request_code", {}, account.pk)
    task_id = admin_client.session["console_tasks"][str(account.pk)]["id"]
    crash(task_id)
    html = admin_client.get(
        reverse("accounts:login_poll", args=[account.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert SOMETHING_WENT_WRONG in html
    assert 'data-step="send_code"' in html


def test_re_login_keeps_the_row_and_its_history(admin_client, make_account):
    account = make_account(status=S.REAUTH_REQUIRED)
    html = admin_client.get(reverse("accounts:login", args=[account.pk])).content.decode()
    assert "Start the re-login" in html
    response = htmx_post(admin_client, "accounts:restart", {}, account.pk)
    account.refresh_from_db()
    assert account.status == S.NEW and 'data-step="send_code"' in response.content.decode()
    assert AccountEvent.objects.filter(account=account, kind="created").exists()


def test_an_admin_can_stop_waiting_for_a_host_that_never_answers(admin_client, make_account, monkeypatch):
    from accounts import wizard

    account = make_account()
    htmx_post(admin_client, "accounts:request_code", {}, account.pk)
    monkeypatch.setattr(wizard, "SLOW_HOST_SECONDS", 0)
    html = admin_client.get(reverse("accounts:login_poll", args=[account.pk]), HTTP_HX_REQUEST="true")
    assert "No session host has answered yet" in html.content.decode()
    html = htmx_post(admin_client, "accounts:forget", {}, account.pk).content.decode()
    assert 'data-step="send_code"' in html
