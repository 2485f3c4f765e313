"""Warm-up plans: a new account's budgets ramp up over days while it behaves like a person.

Each plan is a django-celery-beat PeriodicTask running ``outreach.warmup_tick`` every few minutes. A tick,
inside the account's active hours, acts with the probability that spreads ``actions_per_day`` over the
active part of the day, so actions land at random times; the day's count is a hard ceiling, and joins
and chats also stay inside the day's ramped budgets. The action itself is an account command.

A plan's "day" is ``day_seconds`` long: 86400 in production, seconds on a test's compressed clock (its
active hours are then read on the compressed day, too).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Account
from outreach import commands
from outreach.limits import plan_day, plan_limits
from outreach.models import WarmupAction, WarmupPlan

Kind = WarmupAction.Kind
EMOJI = ["👍", "❤", "🔥", "👏", "😁"]


def plan_create(
    *,
    account: Account,
    days: int = 14,
    start_limits: dict[str, int] | None = None,
    target_limits: dict[str, int] | None = None,
    actions_per_day: int = 12,
    channels: list[str] | None = None,
    active_from: time = time(8),
    active_to: time = time(22),
    timezone_name: str = "UTC",
    day_seconds: int = 86_400,
) -> WarmupPlan:
    """A plan and its beat schedule. Ticks come about three times per expected action."""
    with transaction.atomic():
        plan = WarmupPlan.objects.create(
            account=account,
            days=days,
            start_limits=start_limits or {"new_dm": 2, "join": 1},
            target_limits=target_limits or {"new_dm": 20, "join": 5},
            actions_per_day=actions_per_day,
            channels=[c.strip() for c in channels or [] if c.strip()],
            active_from=active_from,
            active_to=active_to,
            timezone=timezone_name,
            day_seconds=day_seconds,
        )
        every = max(1, day_seconds // max(1, actions_per_day * 3))
        schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        plan.task = PeriodicTask.objects.create(
            name=f"warm-up plan {plan.pk} (account {account.pk})",
            task="outreach.warmup_tick",
            interval=schedule,
            kwargs=json.dumps({"plan_id": plan.pk}),
        )
        plan.save(update_fields=["task"])
    return plan


def plan_pause(*, plan: WarmupPlan, paused: bool) -> None:
    WarmupPlan.objects.filter(pk=plan.pk).update(paused=paused)
    if plan.task_id:
        PeriodicTask.objects.filter(pk=plan.task_id).update(enabled=not paused)


def plan_delete(*, plan: WarmupPlan) -> None:
    with transaction.atomic():
        if plan.task_id:
            PeriodicTask.objects.filter(pk=plan.task_id).delete()
        plan.delete()


def _time_of_day(plan: WarmupPlan, now: datetime) -> time:
    if plan.day_seconds == 86_400:
        return now.astimezone(ZoneInfo(plan.timezone)).time()
    into_day = ((now - plan.started_at).total_seconds() % plan.day_seconds) / plan.day_seconds
    seconds = int(into_day * 86_400)
    return time(seconds // 3600, (seconds // 60) % 60, seconds % 60)


def _active_fraction(plan: WarmupPlan) -> float:
    start = plan.active_from.hour * 60 + plan.active_from.minute
    end = plan.active_to.hour * 60 + plan.active_to.minute
    minutes = (end - start) % (24 * 60) or 24 * 60
    return minutes / (24 * 60)


def is_active(plan: WarmupPlan, now: datetime) -> bool:
    moment, start, end = _time_of_day(plan, now), plan.active_from, plan.active_to
    if start == end:
        return True
    return start <= moment < end if start < end else moment >= start or moment < end


def plan_tick(
    *, plan_id: int, now: datetime | None = None, rng: random.Random | None = None
) -> dict[str, Any]:
    """Maybe perform one action now. Returns what was decided (for the beat log and tests)."""
    now = now or timezone.now()
    rng = rng or random.Random()
    with transaction.atomic():
        # Lock the plan row alone (its task is a nullable join), so two ticks never act twice.
        plan = (
            WarmupPlan.objects.select_for_update(of=("self",))
            .select_related("account")
            .filter(pk=plan_id)
            .first()
        )
        if plan is None or plan.paused:
            return {"acted": False, "why": "paused or gone"}
        if plan.account.status != Account.Status.ACTIVE:
            return {"acted": False, "why": f"account is {plan.account.status}"}
        day = plan_day(plan, now=now)
        if not is_active(plan, now):
            return {"acted": False, "why": "outside active hours", "day": day}
        done = dict(
            WarmupAction.objects.filter(plan=plan, plan_day=day)
            .values("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        )
        if sum(done.values()) >= plan.actions_per_day:
            return {"acted": False, "why": "the day's actions are done", "day": day}
        every = plan.task.interval.every if plan.task and plan.task.interval else 60
        ticks_per_active_day = max(1.0, plan.day_seconds * _active_fraction(plan) / every)
        if rng.random() > plan.actions_per_day / ticks_per_active_day:
            return {"acted": False, "why": "not this time", "day": day}
        choice = _choose(plan, day=day, done=done, rng=rng)
        if choice is None:
            return {"acted": False, "why": "nothing within budget", "day": day}
        kind, target = choice
        action = WarmupAction.objects.create(plan=plan, kind=kind, target=target, plan_day=day)
        commands.warmup_act.queue(plan.account_id, action_id=action.pk)
    return {"acted": True, "kind": kind, "target": target, "day": day}


def _choose(
    plan: WarmupPlan, *, day: int, done: dict[str, int], rng: random.Random
) -> tuple[str, str] | None:
    limits = plan_limits(plan, day=day)
    joins = WarmupAction.objects.filter(plan=plan, kind=Kind.JOIN)
    joined = set(joins.filter(ok=True).values_list("target", flat=True))
    # A join still on its way (no outcome yet) is not chosen again: on a busy host the next tick comes
    # before it is done.
    joining = set(joins.filter(ok=False, detail="").values_list("target", flat=True))
    options: list[tuple[str, str]] = []
    unjoined = [c for c in plan.channels if c not in joined | joining]
    if unjoined and done.get(Kind.JOIN, 0) < limits.get("join", 0):
        options.append((Kind.JOIN, rng.choice(unjoined)))
    if plan.channels:
        options.append((Kind.READ, rng.choice(plan.channels)))
    if joined:
        options.append((Kind.REACT, rng.choice(sorted(joined))))
    partners = list(
        Account.objects.filter(status=Account.Status.ACTIVE, warmup_plan__isnull=False)
        .exclude(pk=plan.account_id)
        .exclude(username="")
        .values_list("username", flat=True)
    )
    if partners and done.get(Kind.CHAT, 0) < limits.get("new_dm", 0):
        options.append((Kind.CHAT, rng.choice(partners)))
    return rng.choice(options) if options else None


def action_finished(*, action_id: int, ok: bool, detail: str = "") -> None:
    WarmupAction.objects.filter(pk=action_id).update(ok=ok, detail=detail[:255])


def action_load(*, action_id: int) -> WarmupAction | None:
    return WarmupAction.objects.select_related("plan").filter(pk=action_id).first()


@dataclass(frozen=True)
class Stage:
    plan: WarmupPlan
    day: int
    complete: bool
    limits: dict[str, int]
    actions_today: int
    last: WarmupAction | None


def stages() -> list[Stage]:
    """Every plan's stage for the admin: day N of M, today's budgets and actions."""
    now = timezone.now()
    result = []
    for plan in WarmupPlan.objects.select_related("account").order_by("account_id"):
        day = plan_day(plan, now=now)
        result.append(
            Stage(
                plan=plan,
                day=min(day, plan.days),
                complete=day > plan.days,
                limits=plan_limits(plan, day=day),
                actions_today=WarmupAction.objects.filter(plan=plan, plan_day=day).count(),
                last=WarmupAction.objects.filter(plan=plan).first(),
            )
        )
    return result
