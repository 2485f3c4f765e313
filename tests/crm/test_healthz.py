from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_healthz_is_public_and_reports_each_dependency(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["ok"] is True
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    assert set(body["workers"]) >= {"ok", "count"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False
