from __future__ import annotations

import random
import threading
import time

import pytest

from accounts import budgets
from accounts.budgets import Budget

# A Redis database of our own: tests elsewhere flush the cache database between tests, and a flush
# in the middle of a bucket test (another pytest process) would look like a refill.
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def account_id(settings):
    settings.REDIS_URL = REDIS_URL
    account = random.randrange(10**9, 10**10)
    budgets.reset(account_id=account)
    yield account
    budgets.reset(account_id=account)


def test_takes_are_allowed_until_the_budget_is_spent(account_id):
    decisions = [budgets.take(account_id=account_id, action="join") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert decisions[0].retry_after == 0.0


def test_a_refusal_says_when_to_retry_with_five_to_twenty_five_percent_jitter(account_id):
    limits = {"scrape_page": Budget(limit=10, period=1000.0)}  # one token every 100 s
    for _ in range(10):
        assert budgets.take(account_id=account_id, action="scrape_page", limits=limits).allowed
    waits = [budgets.take(account_id=account_id, action="scrape_page", limits=limits) for _ in range(40)]
    assert not any(d.allowed for d in waits)
    for decision in waits:
        # Slightly under 100 s remain before the next token, since the bucket refills while we test.
        assert 100 * 1.05 - 1 <= decision.retry_after <= 100 * 1.25
    assert len({round(d.retry_after, 3) for d in waits}) > 10  # jittered, not lockstep


def test_the_default_budgets_are_the_documented_ones():
    documented = {
        "new_dm": Budget(limit=20, period=86400.0),
        "message": Budget(limit=20, period=60.0),
        "join": Budget(limit=5, period=86400.0),
        "resolve_username": Budget(limit=30, period=86400.0),
        "scrape_page": Budget(limit=15, period=60.0),
        "read": Budget(limit=30, period=60.0),
    }
    assert documented == budgets.DEFAULT_BUDGETS


def test_a_refused_take_spends_nothing(account_id):
    limits = {"new_dm": 5}
    assert budgets.take(account_id=account_id, action="new_dm", amount=3, limits=limits).allowed
    refused = budgets.take(account_id=account_id, action="new_dm", amount=3, limits=limits)
    assert not refused.allowed
    assert refused.remaining == 2
    assert budgets.take(account_id=account_id, action="new_dm", amount=2, limits=limits).allowed


def test_the_bucket_refills_continuously(account_id):
    limits = {"message": Budget(limit=5, period=1.0)}
    for _ in range(5):
        assert budgets.take(account_id=account_id, action="message", limits=limits).allowed
    refused = budgets.take(account_id=account_id, action="message", limits=limits)
    assert not refused.allowed
    assert 0.0 < refused.retry_after <= 0.2 * 1.25
    time.sleep(refused.retry_after)
    assert budgets.take(account_id=account_id, action="message", limits=limits).allowed
    time.sleep(1.05)
    assert budgets.usage(account_id=account_id, limits=limits)["message"]["remaining"] == 5


def test_accounts_do_not_share_buckets(account_id):
    other = account_id + 1
    try:
        for _ in range(5):
            assert budgets.take(account_id=account_id, action="join").allowed
        assert not budgets.take(account_id=account_id, action="join").allowed
        assert budgets.take(account_id=other, action="join").allowed
    finally:
        budgets.reset(account_id=other)


def test_actions_do_not_share_buckets(account_id):
    for _ in range(5):
        budgets.take(account_id=account_id, action="join")
    assert budgets.take(account_id=account_id, action="resolve_username").allowed


def test_concurrent_takes_never_exceed_the_budget(account_id):
    limits = {"new_dm": 50}
    start = threading.Barrier(20)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        for _ in range(10):
            decision = budgets.take(account_id=account_id, action="new_dm", limits=limits)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 200
    assert sum(allowed) == 50


def test_usage_reports_what_each_budget_has_spent(account_id):
    limits = {"new_dm": 10}
    for _ in range(3):
        budgets.take(account_id=account_id, action="new_dm", limits=limits)
    budgets.take(account_id=account_id, action="join", limits=limits)
    report = budgets.usage(account_id=account_id, limits=limits)
    assert report["new_dm"] == {"used": 3, "limit": 10, "remaining": 7}
    assert report["join"] == {"used": 1, "limit": 5, "remaining": 4}
    assert report["message"] == {"used": 0, "limit": 20, "remaining": 20}
    assert set(report) == set(budgets.DEFAULT_BUDGETS)


def test_reset_refills_every_bucket(account_id):
    for _ in range(5):
        budgets.take(account_id=account_id, action="join")
    budgets.reset(account_id=account_id)
    assert budgets.usage(account_id=account_id, limits={})["join"]["used"] == 0
    assert budgets.take(account_id=account_id, action="join").allowed


def test_buckets_expire_once_they_would_be_full_again(account_id):
    limits = {"message": Budget(limit=5, period=1.0)}
    budgets.take(account_id=account_id, action="message", limits=limits)
    client, _ = budgets._redis()
    ttl = client.pttl(budgets.bucket_key(account_id=account_id, action="message"))
    assert 0 < ttl <= 200 + 1000


def test_a_zero_budget_refuses_for_a_whole_period(account_id):
    decision = budgets.take(account_id=account_id, action="join", limits={"join": 0})
    assert not decision.allowed
    assert 86400 * 1.05 <= decision.retry_after <= 86400 * 1.25
    assert budgets.usage(account_id=account_id, limits={"join": 0})["join"]["remaining"] == 0


def test_unknown_actions_and_impossible_amounts_are_programming_errors(account_id):
    with pytest.raises(ValueError, match="unknown budget action"):
        budgets.take(account_id=account_id, action="send_nudes")
    with pytest.raises(ValueError, match="can never fit"):
        budgets.take(account_id=account_id, action="join", amount=6)
    with pytest.raises(ValueError, match="at least 1"):
        budgets.take(account_id=account_id, action="join", amount=0)
