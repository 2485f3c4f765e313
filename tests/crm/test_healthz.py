from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from crm import health
from tests.support.browser import ROOT


@pytest.fixture(autouse=True)
def _fresh_readiness():
    health.forget()
    yield
    health.forget()


def test_liveness_is_public_and_touches_no_service(client, settings):
    # No django_db mark: a database query here would raise. Redis and the broker point nowhere.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.django_db
def test_readiness_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    ok = {"ok": True}
    assert response.json() == {"ok": True, "database": ok, "redis": ok, "broker": ok}


@pytest.mark.django_db
def test_readiness_reports_an_unreachable_redis_and_broker(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["redis"]["ok"] is False and body["broker"]["ok"] is False
    assert body["database"] == {"ok": True}


@pytest.mark.django_db
def test_readiness_needs_the_token_when_one_is_set(client, settings):
    settings.HEALTH_TOKEN = "s3cret-health"
    assert client.get("/readyz").status_code == 403
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer s3cret-health").status_code == 200
    assert client.get("/healthz").status_code == 200, "liveness stays public"


@pytest.mark.django_db
def test_readiness_answers_from_a_short_cache_so_it_cannot_load_the_services(client, settings):
    assert client.get("/readyz").status_code == 200
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert client.get("/readyz").status_code == 200, "the remembered answer, not a new Redis connection"
    health.forget()
    assert client.get("/readyz").status_code == 503


def compose_healthcheck(service: str) -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"][service]["healthcheck"]["test"]


@pytest.mark.django_db(transaction=True)
def test_the_compose_healthcheck_passes_with_the_deployments_own_allowed_hosts(live_server, settings):
    settings.ALLOWED_HOSTS = [".switchboard.example.com"]
    settings.HEALTH_TOKEN = "s3cret-health"
    test = compose_healthcheck("web")
    assert test[:2] == ["CMD", "python"]
    command = [sys.executable, *test[2:], "--url", live_server.url]
    env = {"ALLOWED_HOSTS": "   .switchboard.example.com,other.example.com", "HEALTH_TOKEN": "s3cret-health"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # And it really is the Host header that matters: without it Django answers 400.
    plain = subprocess.run(
        [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('{live_server.url}/healthz')"],
        capture_output=True,
        timeout=60,
    )
    assert plain.returncode != 0
