"""Production hardening behind SECURE_COOKIES: HSTS, an optional HTTPS redirect, a Content-Security-Policy
that allows only our own scripts and styles, and none of it in DEBUG development."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.security import apply_hardening, production, settings_from_environment

pytestmark = pytest.mark.django_db


def test_production_sends_hsts_and_a_strict_content_security_policy(client, settings, monkeypatch):
    production(monkeypatch, settings)
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    policy = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.cookies["csrftoken"]["secure"] is True


def test_production_redirects_to_https_only_when_asked_and_never_the_health_checks(
    client, settings, monkeypatch
):
    production(monkeypatch, settings)
    assert client.get("/login/").status_code == 200
    production(monkeypatch, settings, SECURE_SSL_REDIRECT="1")
    client = Client()  # Django's SecurityMiddleware reads its settings once, when the handler is built
    redirect = client.get("/login/")
    assert redirect.status_code == 301 and redirect["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)


def test_debug_development_sends_none_of_it(client, settings, monkeypatch):
    computed = settings_from_environment(monkeypatch, DEBUG="1", SECURE_COOKIES=None, SECURE_SSL_REDIRECT="1")
    apply_hardening(settings, computed)
    response = client.get("/login/", secure=True)
    assert "Strict-Transport-Security" not in response
    assert "Content-Security-Policy" not in response
    assert client.get("/login/").status_code == 200, "no HTTPS redirect"
    assert response.cookies["csrftoken"]["secure"] == ""
