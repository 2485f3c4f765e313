"""Settings come from the environment, and a server never starts on a guessable secret."""

from __future__ import annotations

import os

import pytest

from crm.env import ConfigError
from tests.support.processes import process_env
from tests.support.security import settings_from_environment


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        settings_from_environment(monkeypatch, DEBUG=None, SECRET_KEY=None)
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        settings_from_environment(monkeypatch, DEBUG="0", SECRET_KEY="")


def test_debug_development_runs_on_a_throwaway_key(monkeypatch):
    computed = settings_from_environment(monkeypatch, DEBUG="1", SECRET_KEY=None)
    assert computed["SECRET_KEY"].startswith("insecure-")


def test_a_configured_secret_key_is_used(monkeypatch):
    computed = settings_from_environment(monkeypatch, DEBUG=None, SECRET_KEY="k" * 50)
    assert computed["SECRET_KEY"] == "k" * 50


def test_cache_keys_carry_the_database_name_so_deployments_sharing_a_redis_keep_apart(monkeypatch):
    computed = settings_from_environment(
        monkeypatch, CACHE_KEY_PREFIX=None, DATABASE_URL="postgresql://localhost/acme_crm"
    )
    assert computed["CACHES"]["default"]["KEY_PREFIX"] == "acme_crm"
    chosen = settings_from_environment(
        monkeypatch, CACHE_KEY_PREFIX="blue", DATABASE_URL="postgresql://localhost/x"
    )
    assert chosen["CACHES"]["default"]["KEY_PREFIX"] == "blue"


def test_processes_a_test_starts_cache_under_this_runs_prefix(db):
    # A web server or host a test starts must not read another run's cache (API keys and accounts are
    # numbered alike on every run: an Idempotency-Key answer left behind would answer for this run).
    assert process_env()["CACHE_KEY_PREFIX"] == f"test{os.getpid()}"
