"""Bulk actions and saved views in Chromium: an operator ticks conversations (a live refresh of the list
in between), assigns and closes them at once, and saves the filters as a view to reopen later.

Screenshots go to test-artifacts/inbox/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from inbox import live
from inbox.models import Conversation, SavedView
from inbox.selectors import PAGE_SIZE
from tests.inbox.test_browser_keyboard import desk  # noqa: F401 - the same realistic inbox
from tests.support.browser import logged_in_page
from tests.support.inbox import conversation_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREE = ("Alan Turing", "Ada Lovelace", "Linus T.")


def _tick(page, name: str, **click) -> None:
    page.locator(".conv-item", has=page.locator(".conv-title", has_text=name)).locator("input.pick").click(
        **click
    )


def _refresh_list(page) -> None:
    """What a pushed update does: the list re-fetches itself; wait until the new rows are in."""
    page.evaluate("window.__refreshed = false")
    page.evaluate(
        "document.body.addEventListener('htmx:afterSettle', e => { if (e.detail.target.id === 'conv-list')"
        " window.__refreshed = true }, { once: false })"
    )
    page.evaluate("htmx.trigger(document.body, 'inbox:list')")
    page.wait_for_function("window.__refreshed === true")


def test_an_operator_assigns_and_closes_three_conversations_at_once(
    desk,  # noqa: F811
    chromium,
    live_server,
    operator,
    artifacts,
):
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        assert not page.locator(".bulk-actions").is_visible()  # nothing selected, nothing offered
        for name in THREE:
            _tick(page, name)
        assert page.locator("[data-picked]").inner_text() == "3 selected"

        # A live refresh of the list (as a pushed update makes) keeps the ticks.
        Conversation.objects.filter(title="Grace Hopper").update(last_message_preview="Still there?")
        _refresh_list(page)
        page.wait_for_selector(".conv-preview:text('Still there?')")
        assert page.locator("#conv-list input.pick:checked").count() == 3
        assert page.locator("[data-picked]").inner_text() == "3 selected"

        page.select_option("#bulk-form select[name=assignee]", "me")
        page.click("#bulk-form button[value=assign]")
        page.wait_for_selector("#bulk-result .done:text('3 assigned to otto')")
        page.screenshot(path=str(artifacts / "bulk-assigned.png"))
        assert set(Conversation.objects.filter(assignee=operator).values_list("title", flat=True)) >= set(
            THREE
        )
        page.wait_for_function("document.querySelectorAll('#conv-list input.pick:checked').length === 0")

        # Shift-click ticks a range: the first of the three, then the last with shift.
        titles = page.locator(".conv-row .conv-title").all_inner_texts()
        ends = sorted(titles.index(n) for n in THREE)
        _tick(page, titles[ends[0]])
        _tick(page, titles[ends[-1]], modifiers=["Shift"])
        between = titles[ends[0] : ends[-1] + 1]
        assert page.locator("#conv-list input.pick:checked").count() == len(between)
        page.locator("[data-pick-page]").check()  # the whole page, then none: a clean slate
        assert page.locator("#conv-list input.pick:not(:checked)").count() == 0
        page.locator("[data-pick-page]").uncheck()
        assert page.locator("[data-picked]").inner_text() == "Select"
        for name in THREE:
            _tick(page, name)
        page.click("#bulk-form button[value=close]")
        page.wait_for_selector("#bulk-result .done:text('3 closed')")
        for name in THREE:  # the Open queue no longer shows them
            page.wait_for_selector(f".conv-title:text-is('{name}')", state="detached")
        assert set(Conversation.objects.filter(state="closed").values_list("title", flat=True)) == set(THREE)
        page.screenshot(path=str(artifacts / "bulk-closed.png"))
    finally:
        context.close()


def test_the_keyboard_ticks_the_open_conversation(desk, chromium, live_server, operator):  # noqa: F811
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        page.keyboard.press("j")
        page.wait_for_selector("#conversation")
        page.keyboard.press("x")
        assert page.locator("#conv-list input.pick:checked").count() == 1
        assert page.locator("[data-picked]").inner_text() == "1 selected"
    finally:
        context.close()


def test_an_operator_saves_a_view_and_reopens_it_from_the_sidebar(
    desk,  # noqa: F811
    chromium,
    live_server,
    operator,
    artifacts,
):
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        everyone = page.locator(".conv-row").count()
        page.check("#filters input[name=unread]")
        page.wait_for_url("**/inbox/?*unread=1*")
        unread = page.locator(".conv-row").count()
        assert 0 < unread < everyone
        page.click(".views-manage summary")
        page.fill(".view-save input[name=name]", "Needs reading")
        page.click(".view-save button[type=submit]")
        chip = page.locator(".view-chip", has_text="Needs reading")
        chip.wait_for()
        assert chip.locator(".count").inner_text() == str(unread)
        assert SavedView.objects.get(owner=operator).query == "unread=1"
        assert "current" in chip.get_attribute("class")  # the view the list shows

        page.uncheck("#filters input[name=unread]")  # other filters: the view is no longer the one shown
        page.wait_for_selector(".view-chip:not(.current)")
        page.goto("/inbox/")  # elsewhere, then back through the sidebar
        page.wait_for_selector(".conv-row")
        assert page.locator(".conv-row").count() == everyone
        # The count follows the inbox: a conversation read elsewhere leaves the view.
        first_unread = Conversation.objects.filter(unread_count__gt=0).order_by("id").first()
        Conversation.objects.filter(pk=first_unread.pk).update(unread_count=0)
        live._send([first_unread.account_id])
        page.wait_for_function(
            "n => document.querySelector('.view-chip .count').textContent.trim() === String(n)",
            arg=unread - 1,
        )
        page.locator(".view-chip", has_text="Needs reading").click()
        page.wait_for_url("**/inbox/?unread=1")
        page.wait_for_selector(".view-chip.current")
        live._send([first_unread.account_id])  # a refresh of the counts keeps the mark
        page.wait_for_timeout(500)
        assert page.locator(".view-chip.current").count() == 1
        assert page.locator(".conv-row").count() == unread - 1
        assert page.locator("#filters input[name=unread]").is_checked()
        page.screenshot(path=str(artifacts / "saved-view.png"))
    finally:
        context.close()


def test_bulk_actions_and_views_fit_a_phone(desk, chromium, live_server, operator, artifacts):  # noqa: F811
    context, page = logged_in_page(
        chromium, live_server, operator.username, "pw-operator-1", viewport=(390, 844)
    )
    try:
        SavedView.objects.create(owner=operator, name="Mine", query="who=mine")
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        for name in THREE:
            _tick(page, name)
        page.wait_for_selector("#bulk-form button[value=close]")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page is {overflow} px wider than the screen"
        for control in ("#bulk-form button[value=close]", "#bulk-form button[value=assign]", ".view-chip"):
            box = page.locator(control).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390.5, (control, box)
        page.screenshot(path=str(artifacts / "bulk-phone.png"))
        page.click("#bulk-form button[value=close]")
        page.wait_for_selector("#bulk-result .done:text('3 closed')")
    finally:
        context.close()


def test_select_all_in_this_view_acts_on_every_page_of_it(
    make_account, operator, chromium, live_server, artifacts
):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    now = timezone.now()
    for n in range(PAGE_SIZE + 12):
        c = conversation_make(account, title=f"Lead {n:02d}", peer_id=5000 + n, texts=("Hi",), unread=1)
        Conversation.objects.filter(pk=c.pk).update(last_message_at=now - timedelta(minutes=n))
    conversation_make(account, title="Already read", peer_id=9999, texts=("Hi",))  # not in the view
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/?unread=1")
        page.wait_for_selector(".conv-row")
        assert page.locator(".conv-row").count() == PAGE_SIZE
        assert not page.locator("[data-pick-view]").is_visible()
        page.locator("[data-pick-page]").check()
        page.click("[data-pick-view]")
        page.wait_for_selector(f"#bulk-all:has-text('All {PAGE_SIZE + 12} conversations in this view')")
        page.screenshot(path=str(artifacts / "bulk-select-view.png"))
        page.click("#bulk-form button[value=close]")
        page.wait_for_selector(f"#bulk-result .done:text('{PAGE_SIZE + 12} closed')")
        assert Conversation.objects.filter(state="closed").count() == PAGE_SIZE + 12
        assert Conversation.objects.get(title="Already read").state == "open"
        assert page.locator("#bulk-all").inner_text().strip() == ""  # the selection is spent
    finally:
        context.close()
