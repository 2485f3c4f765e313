"""An operator works the inbox in Chromium while a persona writes through tgsim.

Screenshots go to test-artifacts/inbox/."""

from __future__ import annotations

import time

import pytest

from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIVE_BUDGET = 2.0


def test_an_operator_sees_a_message_arrive_live_answers_it_and_the_persona_receives_it(
    tgsim, browser_host_env, api_app, operator, operator_page, artifacts, tmp_path
):
    page = operator_page
    account, me, _ = agent(tgsim, api_app, first_name="Harbour Lettings")
    account.operators.add(operator)
    grace = tgsim.world_call("create_user", phone=new_phone(), first_name="Grace", last_name="Hopper")
    with session_host("a", log_path=tmp_path / "host.log", env=browser_host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        page.goto("/inbox/")
        page.wait_for_selector("#poll", state="attached")
        time.sleep(1.2)  # let the page take its first live version

        said = time.monotonic()
        tgsim.world_call("say", grace, to_user_id=me, text="Hello! Can I see the flat on Saturday?")
        row = page.locator(".conv-row", has_text="Grace Hopper")
        row.wait_for(timeout=10_000)
        arrived = time.monotonic() - said
        assert row.locator(".unread-count").inner_text() == "1"
        page.screenshot(path=str(artifacts / "inbox-live-arrival.png"))
        assert arrived < LIVE_BUDGET, f"the message took {arrived:.2f} s to show up"

        row.click()
        page.wait_for_selector("#conversation .msg.in >> text=Can I see the flat on Saturday?")
        page.keyboard.press("r")
        page.keyboard.type("Yes — Saturday at 11 works. See you there!")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#conversation .msg.out >> text=✓ sent", timeout=20_000)

        said = time.monotonic()
        tgsim.world_call("say", grace, to_user_id=me, text="Perfect, thanks!")
        page.wait_for_selector("#conversation .msg.in >> text=Perfect, thanks!", timeout=10_000)
        followed = time.monotonic() - said
        page.screenshot(path=str(artifacts / "inbox-conversation.png"))
    with open(artifacts / "live-timings.txt", "a") as timings:
        timings.write(f"list {arrived:.2f} s, open conversation {followed:.2f} s\n")
    assert followed < LIVE_BUDGET, f"the follow-up took {followed:.2f} s to show up in the open conversation"
    received = [m["text"] for m in tgsim.world_call("messages_between", grace, me)]
    assert received.count("Yes — Saturday at 11 works. See you there!") == 1
    reply = Message.objects.get(text="Yes — Saturday at 11 works. See you there!")
    assert reply.sent_by == operator and reply.delivery == "sent"
