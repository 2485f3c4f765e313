"""Browser fixtures for the console: Debian's Chromium through Playwright, logged in as an admin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
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
    """One browser per test module. Playwright's sync API keeps an event loop marked as running in this
    thread while it is open, which makes Django refuse ORM calls here; the tests' ORM use is plain
    synchronous code, so the check is lifted for the module (and restored after)."""
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


@pytest.fixture
def console_host_env(host_env):
    """host_env for the session hosts of browser tests: they keep Django's async-safety check."""
    return {**host_env, UNSAFE: ""}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.console_failed = report.failed
    return report


@pytest.fixture
def admin_page(request, chromium, live_server, admin_user):
    """A page logged in as the admin, on a 1280x900 window; its base URL is the live server."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", "pw-admin-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    yield page
    if getattr(request.node, "console_failed", False):
        # What the browser showed when the test failed: the quickest clue to why.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def shot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
