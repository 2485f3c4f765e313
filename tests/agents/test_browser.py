"""Take over and resume in the inbox pane, and the agent hook's console page, in Chromium.

Screenshots go to test-artifacts/agents/."""

from __future__ import annotations

import re

import pytest

from accounts.models import Account
from agents.models import AgentHook
from inbox.models import Conversation, Message
from tests.support.browser import artifacts_dir, logged_in_page
from tests.support.inbox import conversation_make

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("agents")


def test_an_operator_takes_a_conversation_over_and_hands_it_back(
    chromium, live_server, operator, make_account
):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    conversation = conversation_make(account, title="Erin Lisbon", peer_id=8_200_001, texts=("Is it free?",))
    Message.objects.create(
        conversation=conversation, direction="out", text="Yes, from Friday.", automation="agent"
    )
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto(f"/inbox/c/{conversation.pk}/")
        page.locator("#conversation .msg.out", has_text="Yes, from Friday.").locator(
            ".mark.automated", has_text="Agent"
        ).wait_for()

        page.get_by_role("button", name="Take over").click()
        status = page.locator("#automation-state")
        status.wait_for()
        assert status.inner_text() == "Automation paused by you — the agent will not answer here."
        page.screenshot(path=str(ARTIFACTS / "taken-over.png"))
        assert Conversation.objects.get(pk=conversation.pk).automation_paused

        page.reload()  # the state is the server's, not the page's
        page.get_by_role("button", name="Resume automation").click()
        page.get_by_role("button", name="Take over").wait_for()
        assert page.locator("#automation-state").count() == 0
        assert not Conversation.objects.get(pk=conversation.pk).automation_paused
    finally:
        context.close()


def test_an_admin_creates_a_hook_sees_the_secret_once_and_sends_a_test_event(
    chromium, live_server, admin_user, make_account, hook_server
):
    account = make_account(status=Account.Status.ACTIVE)
    hook_server.reply("Hi from the agent")
    context, page = logged_in_page(chromium, live_server, admin_user.username, "pw-admin-1")
    try:
        page.goto(f"/agent-hooks/{account.pk}/")
        page.fill("input[name=url]", "ftp://example.com/hook")
        page.click("button[type=submit] >> text=Create the hook")
        assert "Only https:// URLs are allowed" in page.locator("[data-field=url]").inner_text()
        assert not AgentHook.objects.exists()

        page.fill("input[name=url]", hook_server.url)  # http to loopback: the test settings allow it
        page.check("input[name=enabled]")
        page.click("button[type=submit] >> text=Create the hook")
        secret = page.locator("#new-secret").input_value()
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{32}", secret)
        hook_server.secret = secret
        page.screenshot(path=str(ARTIFACTS / "hook-created.png"))

        page.goto(f"/agent-hooks/{account.pk}/")
        assert secret not in page.content()
        page.click("text=Send test event")
        result = page.locator("#test-result")
        result.wait_for()
        assert "It would reply: Hi from the agent" in result.inner_text()
        assert hook_server.received[0].verified
        page.screenshot(path=str(ARTIFACTS / "hook-test-event.png"))
    finally:
        context.close()
