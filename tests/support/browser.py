"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def artifacts_dir(name: str) -> Path:
    """Where a suite saves its screenshots: test-artifacts/<name>/ (named in the README)."""
    path = ROOT / "test-artifacts" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def launch_chromium() -> Iterator[Any]:
    """One browser. Playwright's sync API marks an event loop as running in this thread, which makes
    Django refuse ORM calls; the tests' ORM use is plain synchronous code, so the check is lifted while
    the browser is open (and restored after)."""
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


def logged_in_page(
    chromium: Any,
    live_server: Any,
    username: str,
    password: str,
    *,
    viewport: tuple[int, int] = (1360, 860),
    timeout_ms: int = 30_000,
) -> tuple[Any, Any]:
    """A new browser context logged in through the login form; returns (context, page)."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": viewport[0], "height": viewport[1]}
    )
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    return context, page
