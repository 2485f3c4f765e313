"""Telegram's read receipts reach the funnel: a campaign message sent through a real session host to
tgsim, read by the recipient in their own Telegram client, shows as read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import budgets
from inbox.models import Contact
from outreach import planner, services
from outreach.models import Campaign
from reports.selectors import Period, funnel
from tests.support import outreach as build
from tests.support.inbox import Persona, agent
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_recipient_reading_the_campaign_message_shows_as_read_in_the_funnel(
    tgsim, host_env, api_app, admin_user, tmp_path
):
    sender, _, sender_name = agent(tgsim, api_app, first_name="Harbour")
    build.generous_limits(sender)
    budgets.reset(account_id=sender.pk)
    reader = Persona(tgsim, first_name="Reader")
    ignorer = Persona(tgsim, first_name="Ignorer")
    people = [
        Contact.objects.create(telegram_id=p.user_id, username=p.username, first_name=p.username)
        for p in (reader, ignorer)
    ]
    campaign = build.campaign(build.audience(people), [sender])
    services.campaign_start(campaign=campaign)

    def step(until):
        planner.campaign_tick(campaign_id=campaign.pk)
        return until()

    def totals():
        period = Period(key="1d", start=datetime.now(UTC) - timedelta(days=1), end=datetime.now(UTC))
        [row] = funnel(user=admin_user, period=period, by="campaign")
        return row

    try:
        with session_host("reports", log_path=tmp_path / "host.log", env=host_env):
            wait_for(
                lambda: step(lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.FINISHED),
                timeout=90, interval=0.3, what="the campaign to finish",
            )  # fmt: skip
            assert (totals().sent, totals().read) == (2, 0)
            reader.read(sender_name)
            row = wait_for(lambda: (r := totals()).read and r, timeout=60, what="the read receipt")
    finally:
        reader.close()
        ignorer.close()

    assert (row.sent, row.delivered, row.read, row.replied) == (2, 2, 1, 0)
