"""Outreach test fixtures (the Chromium fixture is the shared one in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def artifacts() -> Path:
    from tests.support.browser import artifacts_dir

    return artifacts_dir("outreach")


@pytest.fixture(scope="session", autouse=True)
def _account_ids_of_our_own(django_db_setup, django_db_blocker):
    """Budget buckets live in Redis keyed by account id, shared with every other test process (and a
    running demo). Campaign tests spend them for real, so accounts made here start at ids no other
    process uses; otherwise a parallel run empties our buckets and sends wait for a day."""
    from django.db import connection

    start = 10_000_000 + (os.getpid() % 100_000) * 1_000
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('accounts_account', 'id'), %s)", [start])
