from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from django.db.models import Count

from accounts import budgets
from accounts.models import Account
from inbox.models import ContactHash, Message
from outreach import planner, services
from outreach.models import Campaign, Recipient, Send
from tests.support import outreach as build
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for
from tgsim.access import peer_hash

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_ticks(campaign, *, until, timeout, what):
    """Beat's job, in the test: a planning pass every 0.3 s until ``until()`` holds."""

    def step():
        planner.campaign_tick(campaign_id=campaign.pk)
        return until()

    try:
        return wait_for(step, timeout=timeout, interval=0.3, what=what)
    except AssertionError as error:
        sends = dict(
            Send.objects.filter(campaign=campaign)
            .values("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        people = dict(
            Recipient.objects.filter(campaign=campaign)
            .values("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        raise AssertionError(f"{error}; sends {sends}; recipients {people}") from None


def finished(campaign):
    return lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.FINISHED


def pool(tgsim, api_app, n, **limits):
    accounts = [ready_account(tgsim, api_app, first_name=f"Sender{i}") for i in range(n)]
    for account, _ in accounts:
        build.generous_limits(account, **limits)
        # Budget buckets live in a Redis shared with other test processes, keyed by account id.
        budgets.reset(account_id=account.pk)
    return accounts


def test_a_three_account_campaign_reaches_everyone_once_within_caps_and_replies_stop_follow_ups(
    tgsim, host_env, api_app, tmp_path
):
    senders = pool(tgsim, api_app, 3)
    warming, _ = senders[0]
    warming.warmup_plan.start_limits = warming.warmup_plan.target_limits = {
        "new_dm": 30,
        "resolve_username": 1000,
    }
    warming.warmup_plan.save()
    people = build.sim_people(tgsim, 300, prefix=f"cmp{senders[0][1]}", reply_probability=0.3)
    campaign = build.campaign(
        build.audience(people), [a for a, _ in senders], cap=250, follow_ups=[build.follow_up(12)]
    )
    services.campaign_start(campaign=campaign)

    with session_host("outreach", log_path=tmp_path / "host.log", env=host_env):
        run_ticks(campaign, until=finished(campaign), timeout=150, what="the campaign to finish")

    sender_ids = [uid for _, uid in senders]
    got = build.received(tgsim, people, sender_ids)
    replied_at = build.replies_sent(tgsim, people, sender_ids)
    first_messages = Counter(len({text for _, text, _ in messages[:1]}) for messages in got.values())
    assert first_messages == {1: 300}, "everyone got a first message"
    for uid, messages in got.items():
        assert len({sender for sender, _, _ in messages}) == 1, "one sender per person"
        if uid in replied_at:
            # Personas answer within a second; the follow-up waits 12 s, so a reply always stops it.
            # (Some answer the follow-up itself: that reply comes after it.)
            assert not [date for _, _, date in messages if date > replied_at[uid]], (
                f"{uid} got a follow-up after replying"
            )
        else:
            assert len(messages) == 2
    assert replied_at, "some personas replied"
    daily = Send.objects.filter(campaign=campaign).values("account_id", "day").annotate(n=Count("id"))
    assert all(row["n"] <= 250 for row in daily)
    assert Send.objects.filter(campaign=campaign, account=warming, step=0).count() == 30
    outbound = Message.objects.filter(direction="out", conversation__account__in=[a for a, _ in senders])
    assert outbound.count() == Send.objects.filter(campaign=campaign, state="sent").count(), (
        "sends are in the inbox"
    )
    assert Recipient.objects.filter(campaign=campaign, state="replied").count() >= len(
        [uid for uid, messages in got.items() if uid in replied_at and len(messages) == 1]
    )


def test_killing_the_session_host_mid_campaign_sends_nothing_twice(tgsim, host_env, api_app, tmp_path):
    senders = pool(tgsim, api_app, 2)
    people = build.sim_people(tgsim, 80, prefix=f"kill{senders[0][1]}")
    campaign = build.campaign(build.audience(people), [a for a, _ in senders], cap=100)
    services.campaign_start(campaign=campaign)
    tgsim.fault("latency", 0.05)  # slow calls, so the kill lands while sends are in flight
    try:
        with session_host("first", log_path=tmp_path / "first.log", env=host_env) as first:
            run_ticks(
                campaign,
                until=lambda: Send.objects.filter(campaign=campaign, state="sent").count() >= 15,
                timeout=90,
                what="some sends to leave",
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        in_flight = Send.objects.filter(campaign=campaign, state__in=("queued", "sending")).count()
        with session_host("second", log_path=tmp_path / "second.log", env=host_env):
            run_ticks(
                campaign, until=finished(campaign), timeout=180, what="the campaign to finish after the kill"
            )
    finally:
        tgsim.fault("latency", 0)
    got = build.received(tgsim, people, [uid for _, uid in senders])
    assert in_flight > 0, "the kill happened with sends in flight"
    assert sorted(len(messages) for messages in got.values()) == [1] * 80


def test_peer_flood_pauses_a_sender_and_a_ban_moves_its_sends_to_the_others(
    tgsim, host_env, api_app, tmp_path
):
    senders = pool(tgsim, api_app, 3)
    (flooded, flooded_uid), (banned, banned_uid), (healthy, _) = senders
    people = build.sim_people(tgsim, 45, prefix=f"flt{flooded_uid}")
    private, deleted = people[-1], people[-2]
    tgsim.world_call("set_user", private.telegram_id, restricted_privacy=True)
    tgsim.world_call("set_user", deleted.telegram_id, deleted=True)
    for account, uid in senders:  # they share a chat with the deleted one: each holds its own hash
        own = tgsim.run(lambda viewer=uid: peer_hash(tgsim.world, viewer, deleted.telegram_id))
        ContactHash.objects.create(contact=deleted, account=account, access_hash=own)
    campaign = build.campaign(build.audience(people), [a for a, _ in senders], cap=100)
    tgsim.fault("inject", "PEER_FLOOD", user_id=flooded_uid, method="messages.sendMessage", count=None)
    tgsim.fault("ban", banned_uid)
    services.campaign_start(campaign=campaign)
    try:
        with session_host("faults", log_path=tmp_path / "host.log", env=host_env):
            run_ticks(campaign, until=finished(campaign), timeout=180, what="the campaign to finish")
    finally:
        tgsim.fault("clear")
    flooded.refresh_from_db()
    banned.refresh_from_db()
    assert flooded.status == Account.Status.SPAM_LIMITED and flooded.outreach_paused_until
    assert banned.status == Account.Status.BANNED
    sent = Send.objects.filter(campaign=campaign, state="sent")
    assert set(sent.values_list("account_id", flat=True)) == {healthy.pk}
    assert sent.count() == 43
    got = build.received(tgsim, people, [uid for _, uid in senders])
    assert all(len(messages) <= 1 for messages in got.values())
    skipped = Recipient.objects.get(campaign=campaign, contact=private)
    assert skipped.state == "skipped" and "privacy" in skipped.reason
    gone = Recipient.objects.get(campaign=campaign, contact=deleted)
    assert gone.state == "skipped" and "deleted" in gone.reason, gone.reason


def test_a_campaign_with_media_sends_the_picture_with_its_text(tgsim, host_env, api_app, tmp_path, settings):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = str(tmp_path / "media")
    senders = pool(tgsim, api_app, 1)
    people = build.sim_people(tgsim, 2, prefix=f"med{senders[0][1]}")
    campaign = build.campaign(build.audience(people), [senders[0][0]], cap=10)
    # A 1x1 PNG.
    pixel = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
    campaign.media.save("pixel.png", ContentFile(pixel))
    services.campaign_start(campaign=campaign)
    with session_host(
        "media", log_path=tmp_path / "host.log", env={**host_env, "MEDIA_ROOT": str(tmp_path / "media")}
    ):
        run_ticks(campaign, until=finished(campaign), timeout=60, what="the campaign to finish")
        wait_for(lambda: build.backfilled([senders[0][0]]), timeout=30, what="the inbox backfill")
    for person in people:
        [message] = tgsim.world_call("messages_between", person.telegram_id, senders[0][1])
        assert message["media"] == "photo" and message["text"].startswith(("Hi", "Hello"))
