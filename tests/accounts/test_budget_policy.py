"""One budget policy: whoever spends an account's budget — a campaign, an admin's join, a warm-up
action — meets the account's warm-up ramp and its spam-limit pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import budgets
from accounts.models import OUTREACH_PAUSED_INDEFINITELY, Account
from outreach.models import WarmupPlan

pytestmark = pytest.mark.django_db


def test_a_warming_accounts_ramp_limits_every_join_not_only_the_campaigns(make_account):
    warming = make_account(status=Account.Status.ACTIVE)
    established = make_account(status=Account.Status.ACTIVE)
    WarmupPlan.objects.create(
        account=warming,
        days=10,
        start_limits={"join": 1},
        target_limits={"join": 5},
        started_at=timezone.now(),
    )
    budgets.reset(account_id=warming.pk)
    budgets.reset(account_id=established.pk)
    first, second = (budgets.spend(account_id=warming.pk, action="join") for _ in range(2))
    assert first.allowed and not second.allowed and second.retry_after > 0
    assert budgets.usage(account_id=warming.pk)["join"] == {"used": 1, "limit": 1, "remaining": 0}
    assert all(budgets.spend(account_id=established.pk, action="join").allowed for _ in range(5))


def test_a_spam_limit_pause_refuses_contacting_strangers_but_not_replies(make_account):
    account = make_account(status=Account.Status.SPAM_LIMITED)
    budgets.reset(account_id=account.pk)
    until = timezone.now() + timedelta(hours=2)
    Account.objects.filter(pk=account.pk).update(outreach_paused_until=until)
    for action in ("new_dm", "resolve_username", "join"):
        held = budgets.spend(account_id=account.pk, action=action)
        assert not held.allowed and held.status == Account.Status.SPAM_LIMITED
        assert f"{until:%Y-%m-%d %H:%M}" in held.refused and "spam limit" in held.refused
    assert budgets.spend(account_id=account.pk, action="message").allowed  # answering who wrote first
    assert budgets.usage(account_id=account.pk)["new_dm"]["used"] == 0  # a held spend takes nothing


def test_an_admins_pause_refuses_until_resumed_rather_than_waiting_forever(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(outreach_paused_until=OUTREACH_PAUSED_INDEFINITELY)
    refused = budgets.spend(account_id=account.pk, action="new_dm")
    assert not refused.allowed and "until an admin resumes it" in refused.refused
