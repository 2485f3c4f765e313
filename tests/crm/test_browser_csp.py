"""The pages work under the production Content-Security-Policy: Chromium reports no violation on the
inbox, the accounts fleet and outreach, htmx still filters, and server-computed styles still apply."""

from __future__ import annotations

import pytest

from inbox.models import Label
from outreach.models import Audience, ScrapeJob
from tests.support.browser import logged_in_page
from tests.support.inbox import conversation_make
from tests.support.security import production

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Installed before any page script runs; violations of the policy land in window.__violations.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


@pytest.fixture
def admin_page(chromium, live_server, admin_user, settings, monkeypatch):
    production(monkeypatch, settings)
    context, page = logged_in_page(chromium, live_server, admin_user.username, "pw-admin-1")
    context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.console_messages_seen = console
    yield page
    context.close()


def assert_no_violation(page) -> None:
    assert page.evaluate("window.__violations") == []
    reported = [text for text in page.console_messages_seen if "Content Security Policy" in text]
    assert reported == []


def test_the_main_pages_pass_the_content_security_policy_and_htmx_still_works(admin_page, make_account):
    page = admin_page
    make_account(phone="999661" + "7001")
    make_account(phone="999661" + "7002")
    hot = make_account(phone="999661" + "7003")
    urgent = Label.objects.create(name="Urgent", color="#c0392b")
    conversation = conversation_make(hot, title="Grace Hopper", peer_id=7003, texts=("Hello there",))
    conversation.labels.add(urgent)
    conversation_make(hot, title="Alan Turing", peer_id=7004, texts=("Anyone home?",))

    response = page.goto("/inbox/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".conv-row >> text=Grace Hopper")
    label = page.locator(".conv-row .label", has_text="Urgent")
    assert label.evaluate("el => getComputedStyle(el).getPropertyValue('--label').trim()") == "#c0392b"
    page.fill("#q", "Anyone home")  # htmx filters the list (a search of the messages)
    page.wait_for_selector(".conv-row >> text=Grace Hopper", state="detached")
    assert page.locator(".conv-row", has_text="Alan Turing").count() == 1
    page.goto(f"/inbox/c/{conversation.pk}/")
    page.wait_for_selector("#reply-form")
    chosen = page.locator("#conv-header .labels-menu summary .label")
    assert chosen.evaluate("el => getComputedStyle(el).getPropertyValue('--label').trim()") == "#c0392b"
    assert_no_violation(page)

    page.goto("/accounts/")
    page.wait_for_selector("text=9996617003")
    page.fill("input[name=q]", "7002")  # htmx filters the fleet
    page.wait_for_selector("text=9996617003", state="detached")
    assert page.locator("#fleet", has_text="9996617002").count() == 1
    assert_no_violation(page)

    page.goto("/outreach/")
    page.wait_for_selector("h1")
    page.goto("/outreach/campaigns/new/")
    page.wait_for_load_state("networkidle")
    job = ScrapeJob.objects.create(
        account=hot,
        target="@flatmates",
        audience=Audience.objects.create(name="Flatmates"),
        state=ScrapeJob.State.PAUSED,
        total=400,
        members=100,
    )
    page.goto(f"/outreach/scraping/{job.pk}/")
    assert page.locator(".bar span").evaluate("el => el.style.width") == "25%"
    assert_no_violation(page)
