from __future__ import annotations

import random
import time
from collections import Counter
from datetime import time as clock

import pytest

from accounts.models import Account
from outreach import warmup
from outreach.limits import plan_limits
from outreach.models import WarmupAction
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DAY = 5  # seconds: the compressed clock


def channels(tgsim, owner, tag, n=3):
    names = []
    for i in range(n):
        name = f"wch{tag}x{i}"
        chat = tgsim.world_call("create_group", title=f"Channel {i}", owner_id=owner, username=name)
        for k in range(3):
            tgsim.world_call("say", owner, to_chat_id=chat, text=f"post {k}")
        names.append(f"@{name}")
    return names


def test_a_warm_up_plan_on_a_compressed_clock_performs_its_actions_within_budget(
    tgsim, host_env, api_app, tmp_path
):
    pool = [
        ready_account(tgsim, api_app, first_name=f"Warm{i}", username=f"warm{i}u{time.time_ns() % 10**8}")
        for i in range(2)
    ]
    for account, _ in pool:
        Account.objects.filter(pk=account.pk).update(username=tgsim.world_call("user_info", _)["username"])
    owner = tgsim.world_call("bulk_create_users", 1, prefix=f"wown{pool[0][1]}")[0]
    listed = channels(tgsim, owner, pool[0][1])
    plans = [
        warmup.plan_create(
            account=account,
            days=3,
            start_limits={"join": 1, "new_dm": 1},
            target_limits={"join": 2, "new_dm": 2},
            actions_per_day=4,
            channels=listed,
            active_from=clock(0),
            active_to=clock(0),
            day_seconds=DAY,
        )
        for account, _ in pool
    ]
    rng = random.Random(7)
    with session_host("warmup", log_path=tmp_path / "host.log", env=host_env):
        wait_for(
            lambda: (
                Account.objects.filter(pk__in=[a.pk for a, _ in pool], telegram_id__isnull=False).count() == 2
            ),
            timeout=30,
            what="the pool to connect",
        )
        end = time.monotonic() + DAY * 3
        while time.monotonic() < end:  # beat's job, every 0.25 s on the compressed clock
            for plan in plans:
                warmup.plan_tick(plan_id=plan.pk, rng=rng)
            time.sleep(0.25)
        wait_for(
            lambda: not WarmupAction.objects.filter(plan__in=plans, detail="").exists(),
            timeout=30,
            what="every action to be performed",
        )

    actions = WarmupAction.objects.filter(plan__in=plans)
    assert actions.count() >= 12
    assert set(actions.values_list("kind", flat=True)) >= {"read", "join", "chat"}
    assert all(actions.values_list("ok", flat=True)), list(
        actions.filter(ok=False).values_list("detail", flat=True)
    )
    for plan in plans:
        per_day = Counter(actions.filter(plan=plan).values_list("plan_day", flat=True))
        assert max(per_day.values()) <= plan.actions_per_day
        for day in per_day:
            limits = plan_limits(plan, day=day)
            done = Counter(actions.filter(plan=plan, plan_day=day).values_list("kind", flat=True))
            assert done["join"] <= limits["join"] and done["chat"] <= limits["new_dm"]
    for (_, uid), plan in zip(pool, plans, strict=True):
        joined = actions.filter(plan=plan, kind="join").count()
        assert len(tgsim.world_call("user_info", uid)["channels"]) == joined
    chats = tgsim.world_call("messages_between", pool[0][1], pool[1][1])
    assert len(chats) == actions.filter(kind="chat").count()
