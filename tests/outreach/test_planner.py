from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db.models import Count

from accounts.models import Account
from inbox.models import Conversation, Message
from outreach import planner, services
from outreach.models import Campaign, Recipient, Send
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def tick(campaign, now=NOON, seed=1):
    return planner.campaign_tick(campaign_id=campaign.pk, now=now, rng=random.Random(seed))


def per_account(campaign, **filters):
    return dict(
        Send.objects.filter(campaign=campaign, **filters)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )


@pytest.fixture
def senders(make_account):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(3)]
    for account in accounts:
        build.generous_limits(account)
    return accounts


def test_a_tick_plans_exactly_each_sender_s_cap_and_no_more(senders):
    campaign = build.campaign(build.audience(build.contacts(100)), senders, cap=7)
    services.campaign_start(campaign=campaign)
    report = tick(campaign)
    assert report.planned == 21
    assert per_account(campaign) == {a.pk: 7 for a in senders}
    assert tick(campaign, now=NOON + timedelta(hours=1)).planned == 0  # the same day: caps are spent
    assert tick(campaign, now=NOON + timedelta(days=1)).planned == 21  # a new day: new caps


def test_everyone_gets_one_first_message_and_caps_hold_every_day(senders):
    campaign = build.campaign(build.audience(build.contacts(50)), senders, cap=7)
    services.campaign_start(campaign=campaign)
    for day in range(4):
        tick(campaign, now=NOON + timedelta(days=day))
    assert Send.objects.filter(campaign=campaign, step=0).count() == 50
    assert Send.objects.filter(campaign=campaign).values("recipient").distinct().count() == 50
    daily = Send.objects.filter(campaign=campaign).values("account_id", "day").annotate(n=Count("id"))
    assert max(row["n"] for row in daily) <= 7


def test_the_new_dm_budget_of_a_warming_account_caps_it_below_the_campaign_cap(senders):
    senders[0].warmup_plan.target_limits = senders[0].warmup_plan.start_limits = {"new_dm": 2}
    senders[0].warmup_plan.save()
    campaign = build.campaign(build.audience(build.contacts(30)), senders, cap=5)
    services.campaign_start(campaign=campaign)
    tick(campaign)
    assert per_account(campaign) == {senders[0].pk: 2, senders[1].pk: 5, senders[2].pk: 5}


def test_sends_are_spaced_by_the_random_gap_inside_the_window(senders):
    campaign = build.campaign(
        build.audience(build.contacts(10)),
        senders[:1],
        cap=10,
        gap_min=60,
        gap_max=120,
        window_start=time(9),
        window_end=time(17),
    )
    services.campaign_start(campaign=campaign)
    tick(campaign, now=NOON.replace(hour=7))
    due = list(Send.objects.filter(campaign=campaign).order_by("due_at").values_list("due_at", flat=True))
    assert due[0] == NOON.replace(hour=9)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(due)]
    assert all(60 <= g <= 120 for g in gaps)


def test_only_due_sends_inside_the_window_are_queued(senders):
    campaign = build.campaign(
        build.audience(build.contacts(5)),
        senders[:1],
        cap=5,
        gap_min=600,
        gap_max=600,
        window_start=time(9),
        window_end=time(17),
    )
    services.campaign_start(campaign=campaign)
    assert tick(campaign, now=NOON.replace(hour=7)).queued == []
    report = tick(campaign, now=NOON.replace(hour=9, minute=15))
    assert len(report.queued) == 2  # 9:00 and 9:10; 9:20 is not due yet


def test_a_sender_that_holds_the_person_s_hash_is_preferred_and_people_nobody_can_address_are_skipped(
    senders,
):
    hashed = build.contacts(3, username=False)
    nameless = build.contacts(2, username=False)
    build.give_hashes(senders[2], hashed)
    campaign = build.campaign(build.audience(hashed + nameless), senders, cap=10)
    services.campaign_start(campaign=campaign)
    report = tick(campaign)
    assert per_account(campaign) == {senders[2].pk: 3}
    assert report.skipped == 2
    assert set(
        Recipient.objects.filter(campaign=campaign, state="skipped").values_list("reason", flat=True)
    ) == {"No sender can address this person (no username, no shared chat)"}
    assert not Send.objects.filter(campaign=campaign, resolves=True).exists()


def test_the_resolve_budget_limits_how_many_usernames_a_sender_takes(senders):
    for account in senders:
        account.warmup_plan.target_limits = account.warmup_plan.start_limits = {
            "new_dm": 100,
            "resolve_username": 4,
        }
        account.warmup_plan.save()
    campaign = build.campaign(build.audience(build.contacts(30)), senders, cap=50)
    services.campaign_start(campaign=campaign)
    tick(campaign)
    assert per_account(campaign, resolves=True) == {a.pk: 4 for a in senders}


def test_nobody_is_written_to_twice_across_campaigns_unless_allowed(senders):
    people = build.contacts(6)
    first = build.campaign(build.audience(people), senders, cap=10)
    services.campaign_start(campaign=first)
    tick(first)
    Send.objects.filter(campaign=first).update(state="sent")
    Recipient.objects.filter(campaign=first).update(first_sent_at=NOON, state="contacted")

    second = build.campaign(build.audience(people), senders, cap=10)
    services.campaign_start(campaign=second)
    skipped = Recipient.objects.filter(campaign=second, reason="Already contacted by another campaign")
    assert skipped.count() == 6  # marked at the start already
    assert tick(second).planned == 0

    third = build.campaign(build.audience(people), senders, cap=10, allow_recontact=True)
    services.campaign_start(campaign=third)
    assert tick(third).planned == 6


def test_opted_out_people_are_skipped_with_the_reason(senders):
    people = build.contacts(4)
    people[0].opted_out = True
    people[0].save()
    campaign = build.campaign(build.audience(people, exclude_opted_out=False), senders, cap=10)
    services.campaign_start(campaign=campaign)
    assert tick(campaign).planned == 3
    assert Recipient.objects.get(campaign=campaign, contact=people[0]).reason == "Opted out"


def _sent(campaign, at):
    for send in Send.objects.filter(campaign=campaign, state__in=("planned", "queued")):
        services.send_done(send_id=send.pk, message_id=send.pk)
    Send.objects.filter(campaign=campaign).update(sent_at=at)
    Recipient.objects.filter(campaign=campaign).update(last_sent_at=at, first_sent_at=at)


def test_follow_ups_go_after_their_wait_from_the_same_sender_and_replies_stop_them(senders):
    people = build.contacts(4)
    campaign = build.campaign(
        build.audience(people), senders[:2], cap=10, follow_ups=[build.follow_up(3600 * 24 * 2)]
    )
    services.campaign_start(campaign=campaign)
    tick(campaign)
    _sent(campaign, NOON)
    replier = Recipient.objects.filter(campaign=campaign).select_related("contact").first()
    conversation, _ = Conversation.objects.get_or_create(
        account_id=replier.account_id, peer_id=replier.contact.telegram_id, kind="private"
    )
    Message.objects.create(
        conversation=conversation,
        direction="in",
        text="stop please",
        telegram_id=10**9,
        date=NOON + timedelta(hours=1),
    )

    early = tick(campaign, now=NOON + timedelta(days=1))
    assert early.replied == 1 and early.follow_ups == 0  # the reply is noticed; the wait is not over
    assert tick(campaign, now=NOON + timedelta(days=2, minutes=1)).follow_ups == 3
    follow_ups = Send.objects.filter(campaign=campaign, step=1).select_related("recipient")
    assert replier.pk not in {s.recipient_id for s in follow_ups}
    assert all(s.account_id == s.recipient.account_id for s in follow_ups)
    assert all(s.text.startswith("Just checking in, Lead") for s in follow_ups)


def test_a_banned_sender_s_pending_sends_move_to_the_others(senders):
    campaign = build.campaign(build.audience(build.contacts(12)), senders, cap=10)
    services.campaign_start(campaign=campaign)
    tick(campaign)
    assert per_account(campaign) == {a.pk: 4 for a in senders}
    Account.objects.filter(pk=senders[0].pk).update(status=Account.Status.BANNED)
    report = tick(campaign, now=NOON + timedelta(minutes=1))
    assert report.released == 4
    assert per_account(campaign) == {senders[1].pk: 6, senders[2].pk: 6}


def test_a_spam_limited_sender_gives_up_first_messages_but_keeps_its_follow_ups_waiting(senders):
    campaign = build.campaign(build.audience(build.contacts(6)), senders[:2], cap=10)
    services.campaign_start(campaign=campaign)
    tick(campaign)
    Account.objects.filter(pk=senders[0].pk).update(
        status=Account.Status.SPAM_LIMITED, outreach_paused_until=NOON + timedelta(days=1)
    )
    tick(campaign, now=NOON + timedelta(minutes=1))
    assert per_account(campaign) == {senders[1].pk: 6}


def test_the_campaign_finishes_when_everyone_is_settled(senders):
    campaign = build.campaign(build.audience(build.contacts(3)), senders, cap=10)
    services.campaign_start(campaign=campaign)
    tick(campaign)
    _sent(campaign, NOON)
    assert tick(campaign, now=NOON + timedelta(minutes=1)).finished
    assert Campaign.objects.get(pk=campaign.pk).state == "finished"
