"""Settings come from the environment, and a server never starts on a guessable secret."""

from __future__ import annotations

import pytest

from crm.env import ConfigError
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
