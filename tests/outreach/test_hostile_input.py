"""Hostile templates, numbers and CSV files in outreach end in a clear error, never a 500."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inbox.models import Contact
from outreach import imports, spintax
from outreach.models import Audience, Campaign
from tests.support import outreach as build

pytestmark = pytest.mark.django_db


def _preview(client, template: str):
    return client.post(reverse("outreach:spintax_preview"), {"template": template})


def test_a_deeply_nested_template_is_a_clear_error_not_a_crash(admin_client):
    response = _preview(admin_client, "{" * 3000 + "a" + "}" * 3000)
    assert response.status_code == 200
    assert b"nest at most" in response.content


def test_a_template_with_a_thousand_groups_previews_quickly_with_a_capped_count(admin_client):
    started = time.monotonic()
    response = _preview(admin_client, "{a|b}" * 1000)
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert b"1000000+" in response.content
    assert spintax.count(spintax.parse("{a|b}" * 1000)) == spintax.MAX_VARIANTS


def test_a_template_past_the_length_limit_is_refused_without_echoing_it(admin_client):
    response = _preview(admin_client, "x" * (spintax.MAX_LENGTH + 1))
    assert b"too long" in response.content
    assert b"x" * 1000 not in response.content


@pytest.mark.parametrize(
    "override",
    [
        {"follow_up_1": "Any news?", "follow_up_1_days": "1e308"},
        {"template": "{" * 3000},
        {"name": "Launch\x00"},
        {"daily_cap": "9" * 30},
        {"daily_cap": "٣"},
    ],
)
def test_the_campaign_form_answers_hostile_values_with_a_form_error_and_stores_nothing(
    admin_client, make_account, override
):
    sender = make_account(status="active")
    audience = build.audience(build.contacts(1))
    response = admin_client.post(
        reverse("outreach:campaign_new"), build.campaign_form(audience, sender, **override)
    )
    assert response.status_code == 200  # the form again, with its errors
    assert b'class="errorlist' in response.content
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("99999999999999999999,", "is not a Telegram user id"),
        ("٣,", "is not a Telegram user id"),
        (",1234567890123456789012345678901234567890", "is not a phone number"),
        (",²³⁴⁵⁶⁷", "is not a phone number"),
        ("123,,Ada\x00", "NUL"),
    ],
)
def test_a_csv_row_with_a_hostile_id_phone_or_nul_is_reported_and_not_stored(row, why):
    audience = Audience.objects.create(name="x")
    report = imports.audience_import_csv(
        audience=audience, data=f"user_id,phone,first_name\n{row}\n".encode()
    )
    assert report.added == 0
    assert [(line, why in error) for line, error in report.errors] == [(2, True)]
    assert not Contact.objects.exists()


def test_a_csv_field_past_the_csv_size_limit_stops_the_import_at_that_line_keeping_earlier_rows():
    audience = Audience.objects.create(name="x")
    data = 'user_id,first_name\n101,Ada\n102,"' + "x" * 200_000 + '"\n103,Bob\n'
    report = imports.audience_import_csv(audience=audience, data=data.encode())
    assert report.added == 1
    assert len(report.errors) == 1 and "import stopped" in report.errors[0][1]


def test_an_oversized_csv_upload_is_refused_with_a_message(admin_client):
    audience = Audience.objects.create(name="x")
    upload = SimpleUploadedFile("big.csv", b"user_id\n" + b"1\n" * (imports.MAX_BYTES // 2 + 1))
    response = admin_client.post(
        reverse("outreach:audience_import", args=[audience.pk, "csv"]), {"file": upload}, follow=True
    )
    assert response.status_code == 200
    assert b"too large" in response.content
    assert not audience.members.exists()


@pytest.mark.parametrize("value", ["9" * 30, "100001"])
def test_warm_up_numbers_past_their_bounds_are_form_errors(admin_client, make_account, value):
    account = make_account(status="active")
    body = {
        "account": account.pk,
        "days": 14,
        "start_new_dm": value,
        "target_new_dm": 20,
        "start_join": 1,
        "target_join": 5,
        "actions_per_day": 12,
        "active_from": "08:00",
        "active_to": "22:00",
        "timezone": "UTC",
    }
    response = admin_client.post(reverse("outreach:warmups"), body)
    assert response.status_code == 200
    assert b'class="errorlist' in response.content
