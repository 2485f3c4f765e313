"""Webhooks in Debian's Chromium: an admin creates an endpoint (a bad URL first), copies the secret shown
once, sends a test event that a real worker delivers, reads the delivery log and replays it.
Screenshots go to test-artifacts/webhooks/."""

from __future__ import annotations

import json
import uuid

import pytest

from crm.celery import app
from tests.support.browser import artifacts_dir, logged_in_page
from tests.support.processes import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("webhooks")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def admin_page(chromium, live_server, admin_user):
    context, page = logged_in_page(
        chromium, live_server, admin_user.username, "pw-admin-1", viewport=(1280, 900), timeout_ms=60_000
    )
    yield page
    context.close()


def test_create_test_event_delivery_log_and_replay(admin_page, receiver, private_allowed, tmp_path):
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    queue = f"test-hooks-{uuid.uuid4().hex[:10]}"
    before = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with celery_worker(queue=queue, log_path=tmp_path / "worker.log", WEBHOOK_ALLOW_PRIVATE="1"):
            page.goto("/accounts/")
            page.get_by_role("link", name="Webhooks", exact=True).click()
            page.get_by_role("link", name="New endpoint").click()
            page.fill("input[name=url]", "ftp://example.com/hook")
            page.fill("input[name=description]", "CRM sync")
            page.get_by_role("button", name="Create the endpoint").click()
            page.wait_for_selector("text=Only https:// URLs are allowed")
            shot(page, "endpoint-bad-url")
            page.fill("input[name=url]", receiver.url)
            page.check("input[value='message.received']")
            page.get_by_role("button", name="Create the endpoint").click()
            page.wait_for_selector("text=shown only this once")
            secret = page.input_value("#new-secret")
            assert secret.startswith("whsec_")
            page.get_by_role("button", name="Copy").click()
            page.wait_for_selector("button:text('Copied')")
            assert page.evaluate("navigator.clipboard.readText()") == secret
            shot(page, "endpoint-created")

            page.get_by_role("link", name="Done").click()
            page.wait_for_selector("text=Nothing delivered yet")
            assert secret not in page.content()
            page.get_by_role("button", name="Send test event").click()
            page.wait_for_selector("text=Test event msg_")
            [request] = receiver.wait_for(1, timeout=30)
            assert request.verifies_with(secret)
            assert json.loads(request.body)["type"] == "webhook.test"

            def shows_success() -> bool:
                page.reload()
                return page.locator(".delivery-succeeded").count() == 1

            wait_for(shows_success, timeout=20, interval=0.5, what="the delivery log to show the success")
            page.locator("summary", has_text="log").click()
            page.wait_for_selector("text=HTTP 200")
            shot(page, "delivery-log")

            page.get_by_role("button", name="Replay").click()
            page.wait_for_selector("text=Replaying msg_")
            second = receiver.wait_for(2, timeout=30)[1]
            assert second.id == request.id and second.verifies_with(secret)
            shot(page, "delivery-replayed")
            assert secret not in page.content()
    finally:
        app.conf.task_default_queue = before
