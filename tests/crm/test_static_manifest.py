"""Production serves static files from collectstatic's manifest (hashed names, compressed): collecting
must succeed with every vendored file, and a page must render against that manifest. A DEBUG collect
writes no manifest, and then every page of a production server fails."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

pytestmark = pytest.mark.django_db

PRODUCTION = {"staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}


def test_the_production_collect_succeeds_and_pages_render_from_its_manifest(tmp_path, admin_client):
    from django.conf import settings

    storages = {**settings.STORAGES, **PRODUCTION}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        assert (tmp_path / "staticfiles.json").exists()
        for page in ("/inbox/", "/reports/", "/accounts/"):
            html = admin_client.get(page).content.decode()
            assert "/static/css/switchboard." in html and ".css" in html, page
    assert list(tmp_path.glob("vendor/chartjs/chart.umd.min.*.js"))


def test_the_dockerfile_collects_for_production_not_for_debug():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    collect = [line for line in dockerfile.splitlines() if "collectstatic" in line]
    assert collect and all("DEBUG=1" not in line for line in collect), collect
