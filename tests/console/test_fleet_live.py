"""The fleet page in Chromium shows an account's new status and cooldown the moment it changes, pushed
over its stream (crm.live), without a reload; what the admin ticked stays ticked."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Account
from tests.support.browser import logged_in_page
from tests.support.processes import web_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_cooldown_appears_on_the_open_fleet_page_without_a_reload(
    chromium, admin_user, make_account, artifacts, tmp_path
):
    cooling = make_account(status=Account.Status.ACTIVE)
    ticked = make_account(status=Account.Status.ACTIVE)
    with web_server(log_path=tmp_path / "web.log") as url:
        context, page = logged_in_page(chromium, SimpleNamespace(url=url), admin_user.username, "pw-admin-1")
        page.route("**/accounts/alerts/**", lambda route: route.abort())  # only the stream may tell
        page.goto("/accounts/")
        page.wait_for_selector("body[data-live=push]", timeout=20_000)
        page.check(f"#pick-{ticked.pk}")
        loads = page.evaluate("performance.getEntriesByType('navigation').length")

        services.account_transition(
            account_id=cooling.pk,
            to=Account.Status.COOLDOWN,
            reason="FLOOD_WAIT 3600",
            cooldown_until=timezone.now() + timedelta(hours=1),
        )
        row = page.locator(f"#account-{cooling.pk}")
        row.locator(".pill.status-cooldown").wait_for(timeout=20_000)
        assert "ends in" in row.inner_text()
        assert page.is_checked(f"#pick-{ticked.pk}")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == loads
        page.screenshot(path=str(artifacts / "fleet-live-cooldown.png"))
        context.close()
