"""Browser fixtures for the inbox: Debian's Chromium through Playwright, logged in as an operator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import artifacts_dir, logged_in_page

ARTIFACTS = artifacts_dir("inbox")


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
def operator_page(chromium, live_server, operator):
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    return ARTIFACTS
