"""Outreach's ticks for the general worker, via beat: campaign planning, the scrape watchdog, warm-up
plans. Its account commands (send, scrape page, warm-up action) are in outreach.commands."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from outreach import planner, scraping, services
from outreach.models import Campaign


@shared_task(name="outreach.campaign_tick")
def campaign_tick(*, campaign_id: int) -> dict[str, Any]:
    report = planner.campaign_tick(campaign_id=campaign_id)
    return {"planned": report.planned, "queued": len(report.queued), "finished": report.finished}


@shared_task(name="outreach.campaigns_tick")
def campaigns_tick() -> int:
    """Beat, every few seconds: one planning pass per running campaign, and the scrape watchdog."""
    ids = list(Campaign.objects.filter(state=Campaign.State.RUNNING).values_list("id", flat=True))
    for campaign_id in ids:
        planner.campaign_tick(campaign_id=campaign_id)
    services.stale_sends_requeue()
    scraping.jobs_revive()
    return len(ids)


@shared_task(name="outreach.warmup_tick")
def warmup_tick(*, plan_id: int) -> dict[str, Any]:
    from outreach import warmup

    return warmup.plan_tick(plan_id=plan_id)
