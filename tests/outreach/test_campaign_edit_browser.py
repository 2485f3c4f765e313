"""In Chromium an admin edits a draft, starts it outside its send window and reads why nothing is sent,
then pauses, resumes and archives it. Screenshots go to test-artifacts/outreach/."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Account
from outreach.models import Campaign
from tests.support import outreach as build
from tests.support.browser import logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_admin_edits_a_campaign_reads_why_it_waits_and_pauses_resumes_and_archives_it(
    chromium, live_server, admin_user, make_account, artifacts
):
    senders = [make_account(status=Account.Status.ACTIVE) for _ in range(2)]
    campaign = build.campaign(build.audience(build.contacts(5)), senders, cap=20)
    # A window that is closed now in Berlin: it opens in three hours, for one hour.
    opens = (datetime.now(BERLIN) + timedelta(hours=3)).replace(second=0, microsecond=0)
    closes = opens + timedelta(hours=1)

    context, page = logged_in_page(
        chromium, live_server, admin_user.username, "pw-admin-1", viewport=(1360, 900)
    )
    page.goto(f"/outreach/campaigns/{campaign.pk}/")
    assert "Draft: not started yet" in page.inner_text("#why-reasons")

    page.click("#edit-campaign")
    page.fill("input[name=name]", "Harbour autumn offer")
    # Past the browser's own check (the input's max), the server answers a 40-digit cap with a form error.
    page.eval_on_selector("form.card", "form => form.setAttribute('novalidate', '')")
    page.fill("input[name=daily_cap]", "9" * 40)
    page.click("button:has-text('Save changes')")
    page.wait_for_selector(".errorlist")  # a clear error, the page stays
    assert Campaign.objects.get(pk=campaign.pk).name == "Spring"
    page.fill("input[name=daily_cap]", "12")
    page.fill("input[name=window_start]", opens.strftime("%H:%M"))
    page.fill("input[name=window_end]", closes.strftime("%H:%M"))
    page.select_option("select[name=timezone]", "Europe/Berlin")
    page.screenshot(path=str(artifacts / "campaign-edit.png"), full_page=True)
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=Changes saved.")
    page.wait_for_selector("h1:has-text('Harbour autumn offer')")

    page.click("button:has-text('Start')")
    page.wait_for_selector("text=Started: 5 recipients.")
    reasons = page.inner_text("#why-reasons")
    window = f"{opens:%H:%M}-{closes:%H:%M} Europe/Berlin"
    assert f"Outside the send window ({window}): next send" in reasons
    assert f"{opens:%H:%M} Europe/Berlin." in reasons
    assert page.inner_text("#next-send").endswith(f"{opens:%H:%M}")
    page.screenshot(path=str(artifacts / "campaign-why-window.png"), full_page=True)

    page.click("#campaign-stats button:has-text('Pause')")
    page.wait_for_selector("#why-reasons li[data-code=paused]")
    assert page.inner_text("#campaign-state") == "Paused"
    page.click("#campaign-stats button:has-text('Resume')")
    page.wait_for_selector("#campaign-state:has-text('Running')")
    assert not page.query_selector("#why-reasons li[data-code=paused]")

    page.click("#archive-campaign")
    page.wait_for_selector("text=its history is kept")
    assert page.inner_text("#campaign-state") == "Archived"
    assert not page.query_selector("#edit-campaign")
    page.goto("/outreach/")
    assert not page.query_selector(f"#campaign-{campaign.pk}")
    page.click("a:has-text('Archived')")
    page.wait_for_selector(f"#campaign-{campaign.pk}")
    page.screenshot(path=str(artifacts / "campaigns-archived.png"), full_page=True)
    context.close()
