"""Outreach tasks. Account commands (send, scrape page, warm-up action) run on the session host holding the
account; the ticks (campaign planning, scrape watchdog, warm-up plans) run on the general worker via beat."""

from __future__ import annotations

import functools
from typing import Any

from celery import shared_task

from accounts.host.commands import Failed, run
from outreach import planner, scraping, services, steps
from outreach.models import Campaign


def _command(task: Any, account_id: int, action: Any, **kwargs: Any) -> dict[str, Any]:
    return run(task, account_id=account_id, call=functools.partial(action, **kwargs))


@shared_task(bind=True, name="outreach.send_message", max_retries=None)
def send_message(self: Any, *, account_id: int, send_id: int) -> dict[str, Any]:
    try:
        return _command(self, account_id, steps.send_campaign_message, send_id=send_id)
    except Failed as failure:
        services.send_failed(
            send_id=send_id, account_id=account_id, reason=failure.reason, status=failure.status
        )
        return {"ok": False, "error": failure.reason, "status": failure.status}


@shared_task(bind=True, name="outreach.scrape_page", max_retries=None)
def scrape_page(self: Any, *, account_id: int, job_id: int, step: int) -> dict[str, Any]:
    try:
        return _command(self, account_id, steps.scrape_page, job_id=job_id, step=step)
    except Failed as failure:
        scraping.job_finish(job_id=job_id, state=scraping.State.FAILED, message=failure.reason)
        return {"ok": False, "error": failure.reason, "status": failure.status}


@shared_task(bind=True, name="outreach.warmup_action", max_retries=None)
def warmup_action(self: Any, *, account_id: int, action_id: int) -> dict[str, Any]:
    from outreach import warmup, warmup_steps

    try:
        return _command(self, account_id, warmup_steps.perform, action_id=action_id)
    except Failed as failure:
        warmup.action_finished(action_id=action_id, ok=False, detail=failure.reason)
        return {"ok": False, "error": failure.reason}


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
