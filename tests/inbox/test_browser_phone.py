"""The inbox, a conversation with its notes, and the fleet on a 390 px wide phone screen in Chromium: one
thing at a time, nothing wider than the screen, every control reachable. Screenshots go to
test-artifacts/inbox/."""

from __future__ import annotations

import pytest

from tests.inbox.test_browser_keyboard import desk  # noqa: F401 - the same realistic inbox
from tests.support.browser import logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (390, 844)


def _fits(page) -> None:
    """Nothing on the page is wider than the screen (no sideways scrolling)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


def _inside(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0] + 0.5, f"{selector} sticks out: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE[1] + 0.5, f"{selector} is off screen: {box}"


def test_an_operator_works_a_conversation_on_a_phone(desk, chromium, live_server, operator, artifacts):  # noqa: F811
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1", viewport=PHONE)
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        _fits(page)
        assert page.locator(".inbox-list").is_visible() and not page.locator(".inbox-pane").is_visible()
        _inside(page, "input[type=search]")
        page.screenshot(path=str(artifacts / "phone-list.png"))

        page.locator(".conv-row", has_text="Grace Hopper").click()
        page.wait_for_selector("#conversation h2:has-text('Grace Hopper')")
        assert not page.locator(".inbox-list").is_visible()
        page.screenshot(path=str(artifacts / "phone-conversation.png"))
        _fits(page)
        for control in (
            "#conversation h2",
            ".conv-back",
            "#conversation select[name=assignee]",
            "#reply-form textarea",
        ):
            _inside(page, control)
        assert page.locator(".msg").last.is_visible()

        page.locator(".side-open").click()
        page.wait_for_selector("#side .note:has-text('Prefers mornings')")
        _inside(page, "#side textarea[name=text]")
        page.screenshot(path=str(artifacts / "phone-notes.png"))
        page.locator(".side-close").click()
        page.wait_for_function("!document.querySelector('#side').checkVisibility()")
        _inside(page, "#reply-form textarea")

        page.locator(".conv-back").click()
        page.wait_for_selector(".inbox-list .conv-row")
        assert page.locator(".inbox-list").is_visible() and not page.locator(".inbox-pane").is_visible()
    finally:
        context.close()


def test_an_admin_reads_the_fleet_on_a_phone(desk, chromium, live_server, admin_user, artifacts):  # noqa: F811
    context, page = logged_in_page(chromium, live_server, admin_user.username, "pw-admin-1", viewport=PHONE)
    try:
        page.goto("/accounts/")
        page.wait_for_selector("table.fleet tr[id^=account-]")
        _fits(page)
        row = page.locator("table.fleet tr[id^=account-]").first
        _inside(page, "table.fleet tr[id^=account-] a")
        assert "new DMs" in row.inner_text()
        labels = row.locator("td").evaluate_all(
            "cells => cells.map(c => getComputedStyle(c, '::before').content)"
        )
        assert labels[3] == '"Host: "' and labels[5] == '"Last activity: "', labels
        page.screenshot(path=str(artifacts / "phone-fleet.png"), full_page=True)
        row.locator("a").first.click()
        page.wait_for_selector("#read-on-telegram")
        _fits(page)
        page.screenshot(path=str(artifacts / "phone-account.png"), full_page=True)
    finally:
        context.close()
