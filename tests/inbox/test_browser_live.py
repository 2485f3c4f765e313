"""Pushed updates in Chromium: the inbox hears a persona's message over its stream (crm.live) with the
poll shut off, falls back to polling when the stream dies, and goes back to push when it returns.

Runs against the real web process (uvicorn): only an ASGI server holds a stream open."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm import live
from tests.support.accounts import new_phone
from tests.support.browser import logged_in_page
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for, web_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Polls:
    """Counts the page's poll requests, and lets them through or not."""

    def __init__(self, page) -> None:
        self.allowed = False
        self.asked = 0
        page.route("**/inbox/poll/**", self._handle)

    def _handle(self, route) -> None:
        self.asked += 1
        if self.allowed:
            route.continue_()
        else:
            route.abort()


def test_the_inbox_hears_messages_by_push_falls_back_to_polling_and_returns_to_push(
    tgsim, browser_host_env, api_app, operator, chromium, artifacts, tmp_path
):
    account, me, _ = agent(tgsim, api_app, first_name="Harbour Lettings")
    account.operators.add(operator)
    grace = tgsim.world_call("create_user", phone=new_phone(), first_name="Grace", last_name="Hopper")
    with (
        web_server(log_path=tmp_path / "web.log") as url,
        session_host("a", log_path=tmp_path / "host.log", env=browser_host_env),
    ):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=60, what="backfill")
        context, page = logged_in_page(chromium, SimpleNamespace(url=url), operator.username, "pw-operator-1")
        polls = Polls(page)  # no poll reaches the server: what shows up came by push
        page.goto("/inbox/")
        page.wait_for_selector("body[data-live=push]", timeout=20_000)

        tgsim.world_call("say", grace, to_user_id=me, text="Is the flat on Elm Street still free?")
        row = page.locator(".conv-row", has_text="Grace Hopper")
        row.wait_for(timeout=20_000)
        row.click()
        page.wait_for_selector("#conversation .msg.in >> text=Is the flat on Elm Street still free?")
        tgsim.world_call("say", grace, to_user_id=me, text="I could come by on Tuesday.")
        page.wait_for_selector("#conversation .msg.in >> text=I could come by on Tuesday.", timeout=20_000)
        page.screenshot(path=str(artifacts / "inbox-live-push.png"))

        # The stream dies and cannot come back: the page polls, and still shows what arrives.
        page.route("**/inbox/stream/**", lambda route: route.abort())
        polls.allowed = True
        live.publish([(live.user_channel(operator.pk), live.message("rights"))])  # the server ends it
        page.wait_for_selector("body[data-live=poll]", timeout=20_000)
        asked = polls.asked
        tgsim.world_call("say", grace, to_user_id=me, text="Or Wednesday, if that suits.")
        page.wait_for_selector("#conversation .msg.in >> text=Or Wednesday, if that suits.", timeout=20_000)
        assert polls.asked > asked

        # The stream comes back: push takes over, and the poll stands down again.
        page.unroute("**/inbox/stream/**")
        page.wait_for_selector("body[data-live=push]", timeout=60_000)
        polls.allowed = False
        tgsim.world_call("say", grace, to_user_id=me, text="Wednesday at noon, then.")
        page.wait_for_selector("#conversation .msg.in >> text=Wednesday at noon, then.", timeout=20_000)
        page.keyboard.press("k")  # the keyboard still works beside the stream
        page.screenshot(path=str(artifacts / "inbox-live-back-to-push.png"))
        context.close()
