"""Browser fixtures for the console: Debian's Chromium through Playwright, logged in as an admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import artifacts_dir, logged_in_page

ARTIFACTS = artifacts_dir("console")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.console_failed = report.failed
    return report


@pytest.fixture
def admin_page(request, chromium, live_server, admin_user):
    """A page logged in as the admin, on a 1280x900 window; its base URL is the live server."""
    context, page = logged_in_page(
        chromium, live_server, admin_user.username, "pw-admin-1", viewport=(1280, 900), timeout_ms=60_000
    )
    yield page
    if getattr(request.node, "console_failed", False):
        # What the browser showed when the test failed: the quickest clue to why.
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    return ARTIFACTS


def shot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
