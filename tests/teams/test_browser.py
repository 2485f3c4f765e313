"""Auto-assignment in Chromium, end to end: two operators of a team sign in (which makes them online),
two people write to the team's account through tgsim, a real session host stores the messages, and each
operator finds one new conversation under "Mine", told by the tab title; the admin's team page shows
both online with one open conversation each."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.models import User
from inbox.models import Conversation
from teams import services
from tests.support.accounts import new_phone
from tests.support.browser import artifacts_dir, logged_in_page
from tests.support.inbox import agent
from tests.support.processes import session_host, wait_for, web_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("teams")


def test_two_new_conversations_land_one_with_each_online_operator(
    tgsim, browser_host_env, api_app, admin_user, operator, chromium, tmp_path
):
    bea = User.objects.create_user("bea", password="pw-bea-1", role=User.Role.OPERATOR)
    account, me, _ = agent(tgsim, api_app, first_name="Harbour Lettings")
    team = services.team_create(name="Lettings")
    services.team_set_auto_assign(team=team, on=True)
    services.team_account_add(team=team, account_id=account.pk, by=admin_user)
    for user in (operator, bea):
        services.member_add(team=team, user_id=user.pk, capacity=3, by=admin_user)
    grace = tgsim.world_call("create_user", phone=new_phone(), first_name="Grace", last_name="Hopper")
    alan = tgsim.world_call("create_user", phone=new_phone(), first_name="Alan", last_name="Turing")

    with (
        web_server(log_path=tmp_path / "web.log") as url,
        session_host("a", log_path=tmp_path / "host.log", env=browser_host_env),
    ):
        server = SimpleNamespace(url=url)
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=60, what="backfill")
        pages = {}
        for user, password in ((operator, "pw-operator-1"), (bea, "pw-bea-1")):
            context, page = logged_in_page(chromium, server, user.username, password)  # signing in: online
            page.goto("/inbox/?who=mine")
            page.wait_for_selector("body[data-live=push]", timeout=20_000)
            assert page.locator(".conv-row").count() == 0
            pages[user.username] = (context, page)

        tgsim.world_call("say", grace, to_user_id=me, text="Is the flat on Elm Street still free?")
        wait_for(lambda: Conversation.objects.filter(account=account, assignee__isnull=False).count() == 1,
                 timeout=30, what="the first conversation assigned")  # fmt: skip
        tgsim.world_call("say", alan, to_user_id=me, text="Could I see the loft on Friday?")
        wait_for(lambda: Conversation.objects.filter(account=account, assignee__isnull=False).count() == 2,
                 timeout=30, what="the second conversation assigned")  # fmt: skip

        mine = {}
        for name, (_, page) in pages.items():
            row = page.locator(".conv-row").first
            row.wait_for(timeout=20_000)  # pushed to the open "Mine" list, no reload
            page.wait_for_function("document.title.startsWith('(1) ')", timeout=20_000)  # "assigned you"
            assert page.locator(".conv-row").count() == 1
            mine[name] = row.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"auto-assigned-{name}.png"))
        people = sorted("Grace Hopper" if "Grace Hopper" in text else "Alan Turing" for text in mine.values())
        assert people == ["Alan Turing", "Grace Hopper"]  # one each, not both to one

        _, otto_page = pages[operator.username]
        otto_page.click("#notify")
        otto_page.wait_for_selector(".notification.unread >> text=Team Lettings assigned you")

        admin_context, admin_page = logged_in_page(chromium, server, admin_user.username, "pw-admin-1")
        admin_page.goto("/settings/teams/")
        for user in (operator, bea):
            member = team.members.get(user=user)
            cells = admin_page.locator(f"#member-{member.pk} td")
            assert "online" in cells.nth(1).inner_text()
            assert cells.nth(2).inner_text().strip() == "1"
        admin_page.screenshot(path=str(ARTIFACTS / "team-page.png"), full_page=True)
        admin_context.close()
        for context, _ in pages.values():
            context.close()
