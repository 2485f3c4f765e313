"""The console in Debian's Chromium against tgsim and a real session host: the wizard with and without
2FA, a wrong code, a banned number, an import, the re-login of a revoked account. Screenshots of the
wizard and the fleet go to test-artifacts/console/."""

from __future__ import annotations

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from accounts import commands
from accounts.models import Account, AccountEvent
from accounts.sessions import SessionState
from tests.console.conftest import shot
from tests.support.accounts import login_session, new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = Account.Status


def string_session(state: SessionState) -> str:
    """The session as Telethon users export it: StringSession.save()."""
    session = StringSession()
    session.set_dc(state.dc_id, state.server_address, state.port)
    session.auth_key = AuthKey(state.auth_key)
    return session.save()


def press(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def step(page, name: str) -> None:
    page.wait_for_selector(f'#wizard[data-step="{name}"]')


def register_and_enter_phone(page, phone: str, *, api_id: int) -> None:
    page.goto("/accounts/new/")
    page.fill("input[name=name]", "Browser app")
    page.fill("input[name=api_id]", str(api_id))
    page.fill("input[name=api_hash]", "0123456789abcdef" * 2)
    press(page, "Next")
    step(page, "phone")
    page.fill("input[name=phone]", f"+{phone}")
    press(page, "Next")
    step(page, "send_code")


def test_the_wizard_logs_in_an_account_with_2fa(admin_page, tgsim, browser_host_env, tmp_path, artifacts):
    page = admin_page
    phone = new_phone()
    user_id = tgsim.world_call("create_user", phone=phone, first_name="Wanda", password="open sesame")
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        register_and_enter_phone(page, phone, api_id=700001)
        shot(page, artifacts, "wizard-1-send-code")
        press(page, "Send the code")
        step(page, "code")
        shot(page, artifacts, "wizard-2-code")
        page.fill("input[name=code]", "22222")
        press(page, "Log in")
        step(page, "password")
        page.fill("input[name=password]", "not it")
        press(page, "Log in")
        page.wait_for_selector("text=The 2FA password is wrong")
        step(page, "password")
        shot(page, artifacts, "wizard-3-wrong-password")
        page.fill("input[name=password]", "open sesame")
        press(page, "Log in")
        step(page, "done")
        shot(page, artifacts, "wizard-4-done")
    account = Account.objects.get(phone=phone)
    assert account.status == S.ACTIVE and account.telegram_id == user_id
    assert "open sesame" not in repr(list(AccountEvent.objects.values_list("reason", "detail")))
    assert "open sesame" not in (tmp_path / "host.log").read_text()


def test_the_wizard_logs_in_without_2fa_after_a_wrong_code(
    admin_page, tgsim, browser_host_env, tmp_path, artifacts
):
    page = admin_page
    phone = new_phone()
    tgsim.world_call("create_user", phone=phone, first_name="Carl")
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        register_and_enter_phone(page, phone, api_id=700002)
        press(page, "Send the code")
        step(page, "code")
        page.fill("input[name=code]", "12345")
        press(page, "Log in")
        page.wait_for_selector("text=The login code is wrong")
        step(page, "code")
        shot(page, artifacts, "wizard-wrong-code")
        page.fill("input[name=code]", "22222")
        press(page, "Log in")
        step(page, "done")
        page.wait_for_selector("text=Logged in as")
    assert Account.objects.get(phone=phone).status == S.ACTIVE


def test_a_banned_number_is_shown_as_banned(admin_page, tgsim, browser_host_env, tmp_path, artifacts):
    page = admin_page
    phone = new_phone()
    user_id = tgsim.world_call("create_user", phone=phone, first_name="Barred")
    tgsim.world_call("set_user", user_id, banned=True)
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        register_and_enter_phone(page, phone, api_id=700003)
        press(page, "Send the code")
        step(page, "banned")
        page.wait_for_selector("text=PHONE_NUMBER_BANNED")
        shot(page, artifacts, "wizard-banned")
    assert Account.objects.get(phone=phone).status == S.BANNED
    page.goto("/accounts/")
    page.wait_for_selector("#alert-banner >> text=1 banned")


def test_an_imported_session_is_validated_and_a_duplicate_is_refused(
    admin_page, tgsim, browser_host_env, api_app, tmp_path, artifacts
):
    page = admin_page
    phone = new_phone()
    name = f"imogen{new_phone()[-4:]}"
    user_id = tgsim.world_call("create_user", phone=phone, first_name="Imogen", username=name)
    string = string_session(login_session(tgsim, phone=phone))
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        page.goto("/accounts/import/")
        page.fill("textarea[name=string_session]", string)
        press(page, "Import")
        page.wait_for_selector("text=Imogen", timeout=60_000)
        account = Account.objects.get(telegram_id=user_id)
        assert account.phone == phone  # learnt from Telegram
        shot(page, artifacts, "import-validated")

        # The same user through a second session: taken in, then disabled once the host sees who it is.
        other = string_session(login_session(tgsim, phone=phone))
        page.goto("/accounts/import/")
        page.fill("textarea[name=string_session]", other)
        press(page, "Import")
        page.wait_for_selector(f"text=Duplicate of account #{account.pk}")
    duplicate = Account.objects.exclude(pk=account.pk).get()
    assert duplicate.status == S.DISABLED

    # And the same session imported again is refused before anything connects.
    page.goto("/accounts/import/")
    page.fill("textarea[name=string_session]", string)
    press(page, "Import")
    page.wait_for_selector(f"text=This session is already in the fleet as account #{account.pk}")
    assert Account.objects.count() == 2


def test_a_revoked_account_is_re_logged_in_on_the_same_row(
    admin_page, tgsim, browser_host_env, api_app, tmp_path, artifacts
):
    page = admin_page
    account, user_id = ready_account(tgsim, api_app, first_name="Rex")
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=user_id).exists(),
            timeout=30,
            what="the host to validate the session",
        )
        tgsim.fault("revoke_sessions", user_id)
        commands.refresh_profile.queue(account)  # the next call finds out
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, status=S.REAUTH_REQUIRED).exists(),
            timeout=30,
            what="the account to need a re-login",
        )
        page.goto("/accounts/")
        page.wait_for_selector("#alert-banner >> text=1 re-login required")
        shot(page, artifacts, "fleet-with-alert")
        page.click(f"#alert-banner >> a[href='/accounts/{account.pk}/login/']")
        step(page, "relogin")
        press(page, "Start the re-login")
        step(page, "send_code")
        press(page, "Send the code")
        step(page, "code")
        page.fill("input[name=code]", "22222")
        press(page, "Log in")
        step(page, "done")
    account.refresh_from_db()
    assert account.status == S.ACTIVE and account.telegram_id == user_id
    kinds = list(account.events.values_list("kind", flat=True))
    assert "imported" in kinds and "login_code_submitted" in kinds  # one row, its whole history
    page.goto("/accounts/")
    page.wait_for_selector(f"#account-{account.pk}")
    shot(page, artifacts, "fleet-after-relogin")


def test_the_fleet_filters_and_acts_in_bulk_without_reloading(admin_page, make_account, operator, artifacts):
    from datetime import timedelta

    from django.utils import timezone

    from accounts import budgets
    from accounts.models import HostLiveness, Lease

    page = admin_page
    names = ["Ada", "Bea", "Cy", "Dot", "Eve", "Fay"]
    statuses = [S.ACTIVE, S.ACTIVE, S.COOLDOWN, S.SPAM_LIMITED, S.REAUTH_REQUIRED, S.BANNED]
    accounts = []
    for name, status in zip(names, statuses, strict=True):
        account = make_account(status=status)
        Account.objects.filter(pk=account.pk).update(
            first_name=name, username=name.lower(), last_activity_at=timezone.now() - timedelta(minutes=7)
        )
        accounts.append(account)
    now = timezone.now()
    Account.objects.filter(pk=accounts[2].pk).update(cooldown_until=now + timedelta(minutes=4))
    Account.objects.filter(pk=accounts[3].pk).update(outreach_paused_until=now + timedelta(hours=20))
    for account in accounts[:4]:
        Lease.objects.filter(account=account).update(holder="sessionhost-1@web-a")
    HostLiveness.objects.create(holder="sessionhost-1@web-a", expires_at=now + timedelta(hours=1))
    for account in accounts:
        budgets.reset(account_id=account.pk)  # bucket keys are per account id, which other runs reuse
    for _ in range(3):
        budgets.take(account_id=accounts[0].pk, action="new_dm")

    page.goto("/accounts/")
    page.wait_for_selector("#alert-banner >> text=3 accounts need attention")
    page.evaluate("window.notReloaded = true")
    shot(page, artifacts, "fleet")

    page.fill("input[name=q]", "@cy")
    page.wait_for_function("document.querySelectorAll('#fleet tbody tr').length === 1")
    page.fill("input[name=q]", "")
    page.wait_for_function("document.querySelectorAll('#fleet tbody tr').length === 6")
    page.select_option("select[name=status]", "active")
    page.wait_for_function("document.querySelectorAll('#fleet tbody tr').length === 2")
    assert "status=active" in page.url
    page.check("input[data-select-all=ids]")
    page.select_option("select[name=action]", "pause")
    press(page, "Apply")
    page.wait_for_selector("text=Pause outreach: 2 of 2 accounts")
    assert page.locator("#fleet >> text=outreach paused").count() == 2
    page.select_option("select[name=action]", "grant")
    page.select_option("select[name=operator]", str(operator.pk))
    page.check("input[data-select-all=ids]")
    press(page, "Apply")
    page.wait_for_selector("text=Grant operator: 2 of 2 accounts")
    assert page.evaluate("window.notReloaded") is True  # every step was an htmx swap
    shot(page, artifacts, "fleet-after-bulk")
    assert set(operator.granted_accounts.values_list("first_name", flat=True)) == {"Ada", "Bea"}
