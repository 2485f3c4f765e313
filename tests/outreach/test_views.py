from __future__ import annotations

import pytest
from django.urls import reverse

from outreach import scraping, services, warmup
from outreach.models import Audience, Campaign, ScrapeJob, WarmupPlan
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

PAGES = [
    "outreach:index",
    "outreach:campaign_new",
    "outreach:audiences",
    "outreach:scrapes",
    "outreach:warmups",
]


@pytest.mark.parametrize("name", PAGES)
def test_every_outreach_page_opens_for_an_admin_and_is_forbidden_to_operators(
    client, admin_user, operator, name
):
    client.force_login(operator)
    assert client.get(reverse(name)).status_code == 403
    client.force_login(admin_user)
    assert client.get(reverse(name)).status_code == 200


def test_an_admin_creates_a_campaign_with_a_follow_up_and_starts_it(admin_client, make_account):
    sender = make_account(status="active")
    audience = build.audience(build.contacts(5))
    response = admin_client.post(
        reverse("outreach:campaign_new"),
        build.campaign_form(
            audience,
            sender,
            template="{Hi|Hey} {{first_name|there}}",
            timezone="Europe/Berlin",
            stop_on_reply="on",
            follow_up_1_days="2",
            follow_up_1="Any thoughts?",
        ),
    )
    campaign = Campaign.objects.get(name="Launch")
    assert response.status_code == 302 and response["Location"] == reverse(
        "outreach:campaign", args=[campaign.pk]
    )
    assert campaign.follow_ups.get().after.days == 2
    response = admin_client.post(
        reverse("outreach:campaign_action", args=[campaign.pk, "start"]), follow=True
    )
    assert b"Started: 5 recipients." in response.content
    assert b'id="count-recipients">5<' in response.content


def test_a_template_with_a_syntax_error_is_refused_with_its_position(admin_client, make_account):
    sender = make_account(status="active")
    response = admin_client.post(
        reverse("outreach:campaign_new"),
        build.campaign_form(build.audience([]), sender, name="Broken", template="Hi {there"),
    )
    assert response.status_code == 200
    assert b"is never closed (at character 4)" in response.content
    assert not Campaign.objects.exists()


def test_the_spintax_preview_counts_variants_or_points_at_the_error(admin_client):
    ok = admin_client.post(reverse("outreach:spintax_preview"), {"template": "{a|b|c} {{first_name}}"})
    assert b"<strong>3</strong> variants" in ok.content and b"Ada" in ok.content
    bad = admin_client.post(reverse("outreach:spintax_preview"), {"template": "ab}"})
    assert b"at character 3" in bad.content and b"  ^" in bad.content


def test_the_campaign_page_serves_its_live_counters_as_a_fragment_to_htmx(admin_client, make_account):
    campaign = build.campaign(build.audience(build.contacts(3)), [make_account(status="active")])
    services.campaign_start(campaign=campaign)
    response = admin_client.get(reverse("outreach:campaign", args=[campaign.pk]), HTTP_HX_REQUEST="true")
    assert response.content.lstrip().startswith(b'<section id="campaign-stats"')
    assert b'hx-trigger="every 2s"' in response.content
    admin_client.post(reverse("outreach:campaign_action", args=[campaign.pk, "pause"]))
    assert Campaign.objects.get(pk=campaign.pk).state == "paused"
    admin_client.post(reverse("outreach:campaign_action", args=[campaign.pk, "resume"]))
    assert Campaign.objects.get(pk=campaign.pk).state == "running"


def test_unknown_pages_are_404(admin_client):
    assert admin_client.get(reverse("outreach:campaign", args=[999999])).status_code == 404
    assert admin_client.get(reverse("outreach:scrape", args=[999999])).status_code == 404


def test_a_csv_upload_reports_added_people_and_bad_lines(admin_client):
    audience = Audience.objects.create(name="Upload")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("people.csv", b"user_id,username\n123456789,ada_l\nabc,\n")
    response = admin_client.post(
        reverse("outreach:audience_import", args=[audience.pk, "csv"]), {"file": upload}, follow=True
    )
    assert b"Added 1 people" in response.content
    assert b"Line 3: &#x27;abc&#x27; is not a Telegram user id" in response.content


def test_an_admin_starts_a_scrape_and_sees_its_progress(admin_client, make_account):
    account = make_account(status="active")
    response = admin_client.post(reverse("outreach:scrapes"), {"account": account.pk, "target": "@somegroup"})
    job = ScrapeJob.objects.get()
    assert response["Location"] == reverse("outreach:scrape", args=[job.pk])
    page = admin_client.get(reverse("outreach:scrape", args=[job.pk]))
    assert b"Running" in page.content and b'id="scrape-members">0<' in page.content
    admin_client.post(reverse("outreach:scrape_action", args=[job.pk, "pause"]))
    job.refresh_from_db()
    assert job.state == scraping.State.PAUSED


def test_an_admin_starts_a_warm_up_plan_and_sees_its_stage(admin_client, make_account):
    account = make_account(status="active")
    response = admin_client.post(
        reverse("outreach:warmups"),
        {
            "account": account.pk,
            "days": 10,
            "start_new_dm": 2,
            "target_new_dm": 20,
            "start_join": 1,
            "target_join": 5,
            "actions_per_day": 12,
            "channels": "@news\n@tech",
            "active_from": "08:00",
            "active_to": "22:00",
            "timezone": "UTC",
        },
        follow=True,
    )
    plan = WarmupPlan.objects.get(account=account)
    assert plan.task is not None and plan.task.task == "outreach.warmup_tick"
    assert b"Day 1 of 10" in response.content and b"new_dm 2" in response.content
    warmup.plan_pause(plan=plan, paused=True)
    plan.task.refresh_from_db()
    assert plan.task.enabled is False


def test_an_audience_s_people_are_listed_a_page_at_a_time(admin_client):
    audience = build.audience(build.contacts(60, prefix="paged"))
    first = admin_client.get(reverse("outreach:audience", args=[audience.pk]))
    assert b"Page 1 of 2" in first.content and first.content.count(b"@paged") == 50
    second = admin_client.get(reverse("outreach:audience", args=[audience.pk]) + "?page=2")
    assert second.content.count(b"@paged") == 10


def test_the_account_page_shows_the_warm_up_stage(admin_client, make_account):
    from datetime import timedelta

    from django.utils import timezone

    from outreach.models import WarmupPlan

    account = make_account(status="active")
    started = timezone.now() - timedelta(days=2, hours=1)
    WarmupPlan.objects.create(account=account, days=14, started_at=started)
    html = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "day 3 of 14" in html
