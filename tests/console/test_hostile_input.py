"""Hostile values in the admin console's forms end in a clear error, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.imports import SESSION_FILE_MAX_BYTES
from accounts.models import Account, ApiApp

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["abc", "9" * 5000, "٣", "1\x00"])
def test_the_phone_step_with_a_hostile_api_app_shows_the_form_again(admin_client, value):
    response = admin_client.post(reverse("accounts:new"), {"step": "phone", "api_app": value, "phone": "x"})
    assert response.status_code == 200
    assert not Account.objects.exists()


def test_an_api_id_past_its_column_is_a_form_error(admin_client):
    body = {"name": "Mine", "api_id": str(2**31), "api_hash": "0123456789abcdef" * 2}
    response = admin_client.post(reverse("accounts:new"), body)
    assert response.status_code == 200
    assert b'class="errorlist' in response.content
    assert not ApiApp.objects.exists()


@pytest.mark.parametrize("value", ["²", "9" * 5000, "0"])
def test_the_fleet_opens_on_its_first_page_for_a_hostile_page_number(admin_client, value):
    assert admin_client.get(reverse("accounts:index"), {"page": value}).status_code == 200


def test_an_oversized_session_file_is_a_form_error_and_nothing_is_imported(admin_client, api_app):
    upload = SimpleUploadedFile("big.session", b"\0" * (SESSION_FILE_MAX_BYTES + 1))
    response = admin_client.post(reverse("accounts:import"), {"api_app": api_app.pk, "session_file": upload})
    assert response.status_code == 200
    assert b"is larger than" in response.content
    assert not Account.objects.exists()
