"""Outreach test fixtures (the Chromium fixture is the shared one in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def artifacts() -> Path:
    from tests.support.browser import artifacts_dir

    return artifacts_dir("outreach")
