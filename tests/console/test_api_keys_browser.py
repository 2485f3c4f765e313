"""API keys in Debian's Chromium: an admin creates a key, sees its token once, the token opens the API,
the admin revokes it, and the API answers 401. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import httpx2
import pytest

from accounts.models import Account
from tests.console.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_key_is_created_shown_once_used_and_revoked(admin_page, live_server, make_account, artifacts):
    page = admin_page
    account = make_account(status=Account.Status.ACTIVE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto("/accounts/")
    page.get_by_role("link", name="API", exact=True).click()
    page.get_by_role("link", name="New key").click()
    page.fill("input[name=name]", "Browser robot")
    page.select_option("select[name=accounts]", [str(account.pk)])
    page.get_by_role("button", name="Create the key").click()
    page.wait_for_selector("text=Choose at least one scope")
    page.check("input[value='fleet:read']")
    shot(page, artifacts, "api-key-new")
    page.get_by_role("button", name="Create the key").click()
    page.wait_for_selector("text=shown only this once")
    token = page.input_value("#new-token")
    page.get_by_role("button", name="Copy").click()
    page.wait_for_selector("button:text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == token
    shot(page, artifacts, "api-key-created")

    with httpx2.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        listed = api.get("/api/v1/accounts")
        assert listed.status_code == 200 and [a["id"] for a in listed.json()["accounts"]] == [account.pk]

        page.get_by_role("link", name="Done").click()
        page.wait_for_selector("text=Browser robot")
        assert token not in page.content()
        page.go_back()  # the creation page again: a blank form, never the token
        page.wait_for_selector("text=New API key")
        assert token[-43:] not in page.content()

        page.goto("/settings/api/")
        page.get_by_role("link", name="Revoke…").click()
        page.wait_for_selector("text=Revoke “Browser robot”?")
        page.get_by_role("button", name="Revoke the key").click()
        page.wait_for_selector("text=Revoked Browser robot")
        shot(page, artifacts, "api-keys-revoked")
        refused = api.get("/api/v1/accounts")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert token[-43:] not in page.content()
