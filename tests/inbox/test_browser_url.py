"""j and k move the open conversation and the address bar with it, without a script error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from inbox.models import Conversation
from tests.support.inbox import conversation_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def three(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    now = timezone.now()
    made = []
    for n, name in enumerate(("Grace", "Alan", "Ada")):
        c = conversation_make(account, title=name, peer_id=700 + n, texts=(f"Hello from {name}",))
        Conversation.objects.filter(pk=c.pk).update(last_message_at=now - timedelta(minutes=n))
        made.append(c)
    return made


def test_j_and_k_move_the_url_with_the_open_conversation(operator_page, three):
    page = operator_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/inbox/")
    page.wait_for_selector(".conv-row")
    grace, alan, ada = three
    for key, expected in (("j", grace), ("j", alan), ("j", ada), ("j", ada), ("k", alan), ("k", grace)):
        page.keyboard.press(key)
        page.wait_for_selector(f"#conversation[data-conversation='{expected.pk}']")
        _wait_for_path(page, f"/inbox/c/{expected.pk}/")
        assert page.locator(".conv-row.active").get_attribute("data-conversation") == str(expected.pk)
    page.go_back()  # the history has each step: Back returns to the previous conversation
    _wait_for_path(page, f"/inbox/c/{alan.pk}/")
    assert errors == []


def test_quick_presses_leave_the_url_on_the_conversation_shown(operator_page, three):
    page = operator_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/inbox/")
    page.wait_for_selector(".conv-row")
    for key in "jjjkjk":  # no waiting between presses: requests overlap
        page.keyboard.press(key)
    alan = three[1]
    page.wait_for_selector(f"#conversation[data-conversation='{alan.pk}']")
    _wait_for_path(page, f"/inbox/c/{alan.pk}/")
    page.wait_for_timeout(1000)  # anything still in flight lands, and must not move the URL off
    assert page.evaluate("location.pathname") == f"/inbox/c/{alan.pk}/"
    assert page.locator("#conversation").get_attribute("data-conversation") == str(alan.pk)
    assert errors == []


def _wait_for_path(page, path):
    # pushState is a same-document navigation: wait_for_url would wait for a load event that never comes.
    seen = ""
    for _ in range(50):
        seen = page.evaluate("location.pathname")
        if seen == path:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the address bar shows {seen}, not {path}")


def test_an_earlier_conversation_settling_does_not_pull_the_selection_back(operator_page, three):
    # j opens Alan, whose answer is held; j moves on to Ada; Alan's answer lands. The selection must
    # stay on Ada, so k goes back to Alan, not to Grace.
    page = operator_page
    grace, alan, ada = three
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**/inbox/c/{alan.pk}/**", hold_the_first)
    page.goto("/inbox/")
    page.wait_for_selector(".conv-row")
    page.keyboard.press("j")
    page.wait_for_selector(f"#conversation[data-conversation='{grace.pk}']")
    page.keyboard.press("j")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the request for Alan never left"
    page.keyboard.press("j")
    assert page.locator(".conv-row.active").get_attribute("data-conversation") == str(ada.pk)
    held[0].continue_()
    page.wait_for_selector(f"#conversation[data-conversation='{ada.pk}']")
    assert page.locator(".conv-row.active").get_attribute("data-conversation") == str(ada.pk)
    page.keyboard.press("k")
    page.wait_for_selector(f"#conversation[data-conversation='{alan.pk}']")
    _wait_for_path(page, f"/inbox/c/{alan.pk}/")
    assert page.locator(".conv-row.active").get_attribute("data-conversation") == str(alan.pk)


def test_a_conversation_that_fails_to_open_does_not_hold_the_selection(operator_page, three):
    page = operator_page
    grace, alan, _ = three
    page.route(f"**/inbox/c/{alan.pk}/**", lambda route: route.fulfill(status=500, body="boom"))
    page.goto("/inbox/")
    page.wait_for_selector(".conv-row")
    page.keyboard.press("j")
    page.wait_for_selector(f"#conversation[data-conversation='{grace.pk}']")
    page.keyboard.press("j")  # Alan fails to load: Grace stays shown
    page.wait_for_timeout(500)
    page.unroute(f"**/inbox/c/{alan.pk}/**")
    page.locator(f".conv-row[data-conversation='{grace.pk}']").click()
    page.wait_for_selector(f".conv-row.active[data-conversation='{grace.pk}']")
    assert page.locator(".conv-row.active").count() == 1
