"""Settings as a deployment computes them from its environment, for tests of production hardening."""

from __future__ import annotations

import runpy
from typing import Any

from tests.support.browser import ROOT

# What production hardening changes; tests copy these from the computed settings onto Django's.
HARDENING = (
    "SECURE_COOKIES",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
    "CONTENT_SECURITY_POLICY",
)


def settings_from_environment(monkeypatch: Any, **environ: str | None) -> dict[str, Any]:
    """crm/settings.py evaluated afresh under ``environ`` (None removes a variable)."""
    defaults: dict[str, str | None] = {"SENTRY_DSN": None, "SECRET_KEY": "x" * 50}
    for name, value in {**defaults, **environ}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "crm" / "settings.py"))


def apply_hardening(settings: Any, computed: dict[str, Any]) -> None:
    for name in HARDENING:
        setattr(settings, name, computed[name])


def production(monkeypatch: Any, settings: Any, **environ: str | None) -> dict[str, Any]:
    """Django's settings switched to what a production environment (DEBUG off) computes."""
    computed = settings_from_environment(monkeypatch, DEBUG="0", SECURE_COOKIES=None, **environ)
    apply_hardening(settings, computed)
    return computed
