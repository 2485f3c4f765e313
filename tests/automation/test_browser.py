"""The automation console in Debian's Chromium: reached from the account page, a bad allowlist entry
explained in place, settings saved, a pending request approved with htmx (no reload). Screenshots go to
test-artifacts/automation/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from automation.models import AllowedSender, AutomationSettings, PairingRequest
from inbox.models import Conversation
from tests.support.browser import artifacts_dir, logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ARTIFACTS = artifacts_dir("automation")


@pytest.fixture
def admin_page(chromium, live_server, admin_user):
    context, page = logged_in_page(
        chromium, live_server, admin_user.username, "pw-admin-1", viewport=(1280, 1000)
    )
    yield page
    context.close()


def test_an_admin_configures_automation_and_approves_a_request(admin_page, make_account):
    page = admin_page
    account = make_account(status=Account.Status.ACTIVE)
    conversation = Conversation.objects.create(account=account, peer_id=4242, kind="private", title="Sam")
    request = PairingRequest.objects.create(
        account=account, sender_id=4242, username="sam_the_tenant", conversation=conversation,
        first_text="Is the room still free?", expires_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip

    page.goto(f"/accounts/{account.pk}/")
    page.get_by_role("link", name="Automation…").click()
    page.wait_for_selector("#automation")
    assert "Is the room still free?" in page.inner_text(f"#pairing-{request.pk}")

    page.fill("input[name=entry]", "u" * 60 + " bad")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector("text=Give a Telegram user id")
    assert not AllowedSender.objects.exists()

    page.select_option("select[name=group_policy]", "both")
    page.fill("input[name=admin_chat]", "t.me/Team_Lead")
    assert page.locator("#automation-off").is_visible()  # nothing is answered until the first save
    page.get_by_role("button", name="Save", exact=True).click()
    # Exactly "Saved.": a loose text match would also find "until these policies are saved." at once.
    page.wait_for_selector('span.notice:text-is("Saved.")')
    assert page.locator("#automation-off").count() == 0
    saved = AutomationSettings.objects.get(account=account)
    assert (saved.group_policy, saved.admin_chat) == ("both", "@Team_Lead")
    page.screenshot(path=str(ARTIFACTS / "account-automation.png"), full_page=True)

    page.locator(f"#pairing-{request.pk}").get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=ada (console)")
    assert PairingRequest.objects.get(pk=request.pk).status == "approved"
    entry = AllowedSender.objects.get(account=account)
    assert page.inner_text(f"#allowed-{entry.pk}").startswith(
        "4242 (@sam_the_tenant)"
    )  # on the allowlist now
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

    page.get_by_role("link", name="Pairing").click()
    page.wait_for_selector("#requests")
    assert "No pending requests." in page.inner_text("#requests")
