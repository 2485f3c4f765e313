"""An admin creates a campaign in Chromium and watches its counters move while a session host sends.

Screenshots go to test-artifacts/outreach/."""

from __future__ import annotations

import threading

import pytest

from accounts.models import Account
from outreach import planner
from outreach.models import Campaign
from tests.support import outreach as build
from tests.support.accounts import ready_account
from tests.support.browser import logged_in_page
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Beat(threading.Thread):
    """The campaign tick every 0.3 s, as beat would run it, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.halt = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.halt.wait(0.3):
                for campaign_id in Campaign.objects.filter(state="running").values_list("id", flat=True):
                    planner.campaign_tick(campaign_id=campaign_id)
        finally:
            connection.close()


def test_an_admin_creates_a_campaign_and_watches_its_counters_move(
    chromium, live_server, admin_user, tgsim, browser_host_env, api_app, tmp_path, artifacts
):
    senders = [ready_account(tgsim, api_app, first_name=name)[0] for name in ("Harbour", "Quay")]
    for account in senders:
        build.generous_limits(account)
    people = build.sim_people(
        tgsim, 12, prefix=f"web{senders[0].pk}x{tmp_path.name[-6:]}", reply_probability=0.5
    )
    audience = build.audience(people, name="Harbour leads")

    context, page = logged_in_page(
        chromium, live_server, admin_user.username, "pw-admin-1", viewport=(1360, 900)
    )
    page.goto("/outreach/")
    page.click("text=New campaign")
    page.fill("input[name=name]", "Harbour spring offer")
    page.fill(
        "textarea[name=template]", "{Hi|Hello|Hey} {{first_name|there}}, {a flat|a room} just opened up {"
    )
    page.wait_for_selector("#spintax-preview .error")
    assert "never closed" in page.inner_text("#spintax-preview")
    page.fill(
        "textarea[name=template]", "{Hi|Hello|Hey} {{first_name|there}}, {a flat|a room} just opened up!"
    )
    page.wait_for_selector("#spintax-preview >> text=6 variants")
    page.select_option("select[name=audience]", str(audience.pk))
    for account in senders:
        page.check(f"input[name=senders][value='{account.pk}']")
    page.fill("input[name=daily_cap]", "50")
    page.fill("input[name=gap_min]", "1")
    page.fill("input[name=gap_max]", "2")
    page.fill("input[name=window_start]", "00:00")
    page.fill("input[name=window_end]", "00:00")
    page.select_option("select[name=timezone]", "UTC")
    page.screenshot(path=str(artifacts / "campaign-new.png"), full_page=True)
    page.click("button:has-text('Save draft')")
    page.wait_for_selector("h1:has-text('Harbour spring offer')")
    page.click("button:has-text('Start')")
    page.wait_for_selector("text=Started: 12 recipients.")

    seen: list[int] = []
    beat = Beat()
    with session_host("browser", log_path=tmp_path / "host.log", env=browser_host_env):
        wait_for(
            lambda: (
                Account.objects.filter(pk__in=[a.pk for a in senders], telegram_id__isnull=False).count() == 2
            ),
            timeout=30,
            what="the senders to connect",
        )
        beat.start()
        try:

            def sent_so_far():
                value = int(page.inner_text("#count-sent"))
                if not seen or seen[-1] != value:
                    seen.append(value)
                    if len(seen) == 2:
                        page.screenshot(path=str(artifacts / "campaign-sending.png"), full_page=True)
                return value == 12

            wait_for(sent_so_far, timeout=90, interval=0.5, what="the sent counter to reach 12")
            # The campaign finishes on the tick after its last send: keep ticking until it shows.
            page.wait_for_selector("#campaign-state:has-text('Finished')", timeout=30_000)
        finally:
            beat.halt.set()
            beat.join(10)
    page.screenshot(path=str(artifacts / "campaign-finished.png"), full_page=True)
    assert seen[0] < 12 and len(seen) >= 3, f"the counter moved in steps: {seen}"
    assert page.inner_text("#count-recipients") == "12"
    context.close()
