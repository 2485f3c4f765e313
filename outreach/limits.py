"""Per-account budgets as outreach sees them: the defaults, or what its warm-up plan allows today."""

from __future__ import annotations

import math

from django.utils import timezone

from accounts.budgets import DAY, DEFAULT_BUDGETS, Budget, budgets_for
from outreach.models import WarmupPlan


def plan_day(plan: WarmupPlan, *, now=None) -> int:
    """The plan's current day, 1-based; past ``days`` the plan is complete."""
    elapsed = ((now or timezone.now()) - plan.started_at).total_seconds()
    return max(1, math.floor(elapsed / max(1, plan.day_seconds)) + 1)


def plan_limits(plan: WarmupPlan, *, day: int) -> dict[str, int]:
    """Budgets ramp linearly from ``start_limits`` on day 1 to ``target_limits`` on the last day."""
    progress = 1.0 if plan.days <= 1 else min(1.0, (day - 1) / (plan.days - 1))
    limits = {}
    for action in DEFAULT_BUDGETS:
        start = plan.start_limits.get(action)
        target = plan.target_limits.get(action)
        if start is None and target is None:
            continue
        start = DEFAULT_BUDGETS[action].limit if start is None else int(start)
        target = DEFAULT_BUDGETS[action].limit if target is None else int(target)
        limits[action] = round(start + (target - start) * progress)
    return limits


def ramp_limits(account_ids: list[int], *, now=None) -> dict[int, dict[str, Budget]]:
    """The accounts' own budgets for accounts.budgets, by account (only accounts with a warm-up plan).

    On a compressed clock (a plan "day" shorter than a day) daily budgets refill per plan day too.
    """
    found = {}
    for plan in WarmupPlan.objects.filter(account_id__in=account_ids):
        limits = {}
        for action, limit in plan_limits(plan, day=plan_day(plan, now=now)).items():
            period = DEFAULT_BUDGETS[action].period
            if period == DAY and plan.day_seconds != DAY:
                period = float(plan.day_seconds)
            limits[action] = Budget(limit=limit, period=period)
        found[plan.account_id] = limits
    return found


def daily_limits(*, account_ids: list[int], now=None) -> dict[int, dict[str, Budget]]:
    """Every account's effective budgets in one query (the planner's view of many senders)."""
    plans = {plan.account_id: plan for plan in WarmupPlan.objects.filter(account_id__in=account_ids)}
    result = {}
    for account_id in account_ids:
        plan = plans.get(account_id)
        overrides = plan_limits(plan, day=plan_day(plan, now=now)) if plan else {}
        result[account_id] = budgets_for(limits=overrides)
    return result
