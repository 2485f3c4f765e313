"""Notifications in Chromium, against the real web process (uvicorn, which holds the streams): a mention
reaches the other operator's open inbox and its tab title counts it; a task reminder reaches an open
"My tasks" page (its own stream) and, the tab being hidden, shows as a browser notification."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import Account
from crm.models import User
from inbox import todo
from tests.support.browser import logged_in_page
from tests.support.inbox import conversation_make
from tests.support.processes import wait_for, web_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The page believes its tab is hidden when the test says so, and every browser notification it shows is
# recorded (then shown by Chromium as usual).
HIDDEN_AND_RECORDED = """
Object.defineProperty(document, "hidden", { get: function () { return window.__hidden === true; } });
window.__shown = [];
(function () {
  var Real = window.Notification;
  function Recorded(title, options) {
    window.__shown.push({ title: title, body: options && options.body });
    return new Real(title, options);
  }
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  Object.defineProperty(Recorded, "permission", { get: function () { return Real.permission; } });
  window.Notification = Recorded;
})();
"""


@pytest.fixture
def team(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    bea = User.objects.create_user("bea", password="pw-bea-1", role=User.Role.OPERATOR)
    account.operators.add(operator, bea)
    convo = conversation_make(account, title="Alice Buyer", peer_id=1001, texts=("Can you call me?",))
    return SimpleNamespace(account=account, bea=bea, convo=convo)


def test_a_mention_reaches_the_other_operators_open_inbox_and_its_tab_title(
    team, operator, chromium, artifacts, tmp_path
):
    with web_server(log_path=tmp_path / "web.log") as url:
        server = SimpleNamespace(url=url)
        bea_context, bea = logged_in_page(chromium, server, "bea", "pw-bea-1")
        bea.wait_for_selector("body[data-live=push]", timeout=20_000)
        assert bea.title() == "Inbox · Switchboard"

        otto_context, otto = logged_in_page(chromium, server, operator.username, "pw-operator-1")
        otto.goto(f"/inbox/c/{team.convo.pk}/")
        otto.fill("#notes textarea[name=text]", "@bea can you ring her at 18:00?")
        otto.click("#notes button[type=submit]")
        otto.wait_for_selector("#notes >> text=can you ring her")
        otto.wait_for_selector(".task-offer >> text=Make a task")  # the time in the note is offered

        bea.wait_for_function("document.title === '(1) Inbox · Switchboard'", timeout=20_000)
        assert bea.inner_text("#notify-count") == "1"
        bea.screenshot(path=str(artifacts / "notifications-mention-title.png"))
        assert otto.title().startswith("Alice Buyer")  # the author is not notified
        assert not otto.is_visible("#notify-count")
        otto.click(".task-offer button")  # the offered task, due at 18:00
        otto.wait_for_selector("#tasks .task >> text=can you ring her at 18:00?")
        assert "18:00" in otto.inner_text("#tasks .task .muted")
        otto.screenshot(path=str(artifacts / "tasks-conversation.png"))

        bea.click("#notify")
        bea.wait_for_selector(".notification.unread >> text=otto mentioned you")
        bea.click("text=Mark all read")
        bea.wait_for_selector(".notification.unread", state="detached")
        assert not bea.title().startswith("(")
        assert not bea.is_visible("#notify-count")
        bea_context.close()
        otto_context.close()


def test_a_task_reminder_reaches_an_open_page_and_the_browser_when_the_tab_is_hidden(
    team, chromium, artifacts, tmp_path
):
    with web_server(log_path=tmp_path / "web.log") as url:
        context, page = logged_in_page(chromium, SimpleNamespace(url=url), "bea", "pw-bea-1")
        context.grant_permissions(["notifications"], origin=url)
        context.add_init_script(HIDDEN_AND_RECORDED)
        page.goto("/inbox/tasks/")
        assert page.evaluate("Notification.permission") == "granted"
        page.evaluate("window.__hidden = true")

        due = timezone.now() + timedelta(seconds=3)
        todo.task_create(
            conversation=team.convo, title="Ring Alice", due_at=due, assignee=team.bea, by=team.bea
        )
        assert todo.tasks_remind_due() == 0  # not due yet
        wait_for(lambda: timezone.now() >= due, timeout=10, what="the due time")
        assert todo.tasks_remind_due() == 1  # what the beat task runs

        page.wait_for_function("document.title === '(1) My tasks · Switchboard'", timeout=20_000)
        page.wait_for_function("window.__shown.length === 1", timeout=20_000)
        shown = page.evaluate("window.__shown[0]")
        assert shown == {"title": "Task due", "body": "Task due: Ring Alice"}
        assert todo.tasks_remind_due() == 0  # once

        page.evaluate("window.__hidden = false")
        page.reload()
        page.wait_for_selector("tr.overdue >> text=Ring Alice")
        page.screenshot(path=str(artifacts / "notifications-task-due.png"))
        context.close()
