"""Searching the inbox in Chromium by the beginning of a customer's name, as a lead types it."""

from __future__ import annotations

import pytest

from tests.inbox.test_browser_keyboard import desk  # noqa: F401 - the same realistic inbox
from tests.support.browser import logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_the_beginning_of_a_name_finds_the_person(desk, chromium, live_server, operator):  # noqa: F811
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        assert page.locator(".conv-row").count() > 2
        page.fill("input[name=q]", "ada lov")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('.conv-row').length === 1")
        assert page.locator(".conv-row .conv-title").all_inner_texts() == ["Ada Lovelace"]
        assert "q=ada+lov" in page.url or "q=ada%20lov" in page.url
        page.fill("input[name=q]", "hopp")
        page.keyboard.press("Enter")
        page.wait_for_selector(".conv-row .conv-title:text-is('Grace Hopper')")
        assert page.locator(".conv-row .conv-title").all_inner_texts() == ["Grace Hopper"]
    finally:
        context.close()
