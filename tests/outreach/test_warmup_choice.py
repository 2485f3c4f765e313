"""A warm-up plan never joins one channel twice, even while a join is still on its way."""

from __future__ import annotations

import random

import pytest

from outreach import warmup
from outreach.models import WarmupAction

pytestmark = pytest.mark.django_db


def _joins_chosen(plan, rng):
    chosen = (warmup._choose(plan, day=0, done={}, rng=rng) for _ in range(200))
    return {target for kind, target in filter(None, chosen) if kind == WarmupAction.Kind.JOIN}


def test_a_channel_being_joined_or_joined_is_not_chosen_to_join_again(make_account):
    account = make_account(status="active")
    plan = warmup.plan_create(
        account=account,
        days=3,
        start_limits={"join": 5},
        target_limits={"join": 5},
        channels=["@a", "@b", "@c"],
    )
    rng = random.Random(3)
    assert _joins_chosen(plan, rng) == {"@a", "@b", "@c"}
    WarmupAction.objects.create(plan=plan, kind=WarmupAction.Kind.JOIN, target="@a", plan_day=0)  # on its way
    WarmupAction.objects.create(
        plan=plan, kind=WarmupAction.Kind.JOIN, target="@b", ok=True, detail="joined", plan_day=0
    )
    assert _joins_chosen(plan, rng) == {"@c"}
    # A join that failed may be tried again.
    WarmupAction.objects.create(
        plan=plan, kind=WarmupAction.Kind.JOIN, target="@c", detail="FLOOD_WAIT", plan_day=0
    )
    assert _joins_chosen(plan, rng) == {"@c"}
