"""Browser fixtures for the inbox: Debian's Chromium through Playwright, logged in as an operator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "inbox"
CHROMIUM = "/usr/bin/chromium"
UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium():
    """One browser per module. Playwright's sync API marks an event loop as running in this thread,
    which makes Django refuse ORM calls; the tests' ORM use is plain synchronous code, so the check is
    lifted for the module (and restored after)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    before = os.environ.get(UNSAFE)
    os.environ[UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop(UNSAFE, None)
        else:
            os.environ[UNSAFE] = before


# Live-update counters of our own: other test sessions (and a running demo) share Redis and reuse
# account ids. Set in the environment too, for the session hosts tests start.
LIVE_KEY = os.environ["INBOX_LIVE_KEY"] = f"test{os.getpid()}:inbox:versions"


@pytest.fixture(autouse=True)
def _own_live_counters(settings):
    settings.INBOX_LIVE_KEY = LIVE_KEY
    yield
    from inbox.live import _redis

    _redis().delete(LIVE_KEY)


@pytest.fixture
def inbox_host_env(host_env):
    """host_env for session hosts started during browser tests: they keep Django's async-safety check."""
    return {**host_env, UNSAFE: ""}


def logged_in_page(chromium, live_server, username: str, password: str):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 860})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    return context, page


@pytest.fixture
def operator_page(chromium, live_server, operator):
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
