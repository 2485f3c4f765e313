"""Every way a campaign can send nothing explains itself, from the planner's own checks, at a frozen ``now``
(and the planner, ticked at that same moment, does what the words say)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Account
from outreach import explain, planner, services
from outreach.models import Campaign, Recipient, Send
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
BERLIN = ZoneInfo("Europe/Berlin")


def tick(campaign, now=NOON):
    return planner.campaign_tick(campaign_id=campaign.pk, now=now, rng=random.Random(1))


def why(campaign, now=NOON) -> explain.Explanation:
    campaign.refresh_from_db()
    return explain.campaign_explain(campaign=campaign, now=now)


def send_all(campaign, now=NOON) -> int:
    """Everything queued leaves (as the session host would report it)."""
    ids = list(Send.objects.filter(campaign=campaign, state="queued").values_list("id", flat=True))
    for n, send_id in enumerate(ids, start=1):
        services.send_done(send_id=send_id, message_id=1000 + n)
    Send.objects.filter(id__in=ids).update(sent_at=now)
    Recipient.objects.filter(sends__id__in=ids).update(last_sent_at=now)
    return len(ids)


@pytest.fixture
def senders(make_account):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(3)]
    for account in accounts:
        build.generous_limits(account)
    return accounts


def started(people, senders, **settings) -> Campaign:
    campaign = build.campaign(build.audience(people), senders, **settings)
    services.campaign_start(campaign=campaign)
    return campaign


def test_a_draft_says_it_is_not_started_and_warns_of_people_nobody_can_reach(senders):
    campaign = build.campaign(build.audience(build.contacts(3) + build.contacts(2, username=False)), senders)
    found = why(campaign)
    assert found.codes == ["draft"]
    assert "not started" in found.reasons[0].text
    assert [n.text for n in found.notes] == [
        "No sender can reach 2 people (no username, and no sender shares a chat with them)."
    ]
    assert found.next_send_at is None


def test_a_draft_with_an_empty_audience_says_so(senders):
    found = why(build.campaign(build.audience([]), senders))
    assert found.codes == ["draft", "audience_empty"]


def test_a_running_campaign_inside_its_window_is_sending_and_estimates_its_finish(senders):
    campaign = started(build.contacts(10), senders, cap=10, gap_min=60, gap_max=60)
    tick(campaign)
    found = why(campaign)
    assert found.sending and found.reasons == []
    assert found.next_send_at == NOON
    assert found.remaining == 10
    assert NOON < found.finish_at <= NOON + timedelta(minutes=10)


def test_a_paused_campaign_says_so_and_has_no_next_send(senders):
    campaign = started(build.contacts(3), senders)
    services.campaign_pause(campaign=campaign)
    found = why(campaign)
    assert found.codes == ["paused"]
    assert found.next_send_at is None
    assert tick(campaign).queued == []


def test_outside_the_window_it_names_the_next_opening_in_the_campaign_s_time_zone(senders):
    # 12:00 UTC is 13:00 in Berlin; the window is 14:30-18:00 there.
    campaign = started(
        build.contacts(3), senders, window_start=time(14, 30), window_end=time(18), timezone="Europe/Berlin"
    )
    found = why(campaign)
    assert found.codes == ["window"]
    assert found.reasons[0].text == (
        "Outside the send window (14:30-18:00 Europe/Berlin): next send 14:30 Europe/Berlin."
    )
    assert found.next_send_at == datetime(2026, 3, 2, 14, 30, tzinfo=BERLIN)
    assert tick(campaign).queued == []  # the planner agrees: nothing goes now
    assert tick(campaign, now=found.next_send_at).queued != []  # and something goes then


def test_after_the_window_closed_the_next_send_is_tomorrow_morning(senders):
    campaign = started(build.contacts(3), senders, window_start=time(9), window_end=time(11), timezone="UTC")
    found = why(campaign)
    assert found.codes == ["window"]
    assert "next send tomorrow 09:00 UTC" in found.reasons[0].text
    assert found.next_send_at == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_an_overnight_window_opens_in_the_evening(senders):
    campaign = started(build.contacts(3), senders, window_start=time(20), window_end=time(2), timezone="UTC")
    found = why(campaign)
    assert found.codes == ["window"] and found.next_send_at == NOON.replace(hour=20)


def test_a_reached_daily_cap_says_when_it_resumes(senders):
    campaign = started(build.contacts(10), senders[:1], cap=3, timezone="Europe/Berlin")
    tick(campaign)
    send_all(campaign)
    assert tick(campaign, now=NOON + timedelta(minutes=1)).planned == 0  # the planner agrees
    found = why(campaign, now=NOON + timedelta(minutes=1))
    assert found.codes == ["cap"]
    assert found.reasons[0].text == "Daily cap reached (3 per sender): resumes tomorrow 00:00 Europe/Berlin."
    assert found.next_send_at == datetime(2026, 3, 3, tzinfo=BERLIN)
    # 7 left at 3 a day: two more days and a bit.
    assert found.finish_at.astimezone(BERLIN).date() == datetime(2026, 3, 5).date()
    assert tick(campaign, now=found.next_send_at).planned == 3


def test_a_spent_warm_up_budget_says_so(senders):
    plan = senders[0].warmup_plan
    plan.start_limits = plan.target_limits = {"new_dm": 2}
    plan.save()
    campaign = started(build.contacts(6), senders[:1], cap=10)
    tick(campaign)
    send_all(campaign)
    assert tick(campaign, now=NOON + timedelta(minutes=1)).planned == 0
    found = why(campaign, now=NOON + timedelta(minutes=1))
    assert found.codes == ["budget"]
    assert "new-DM budget (2 a day" in found.reasons[0].text
    assert found.next_send_at == datetime(2026, 3, 3, tzinfo=UTC)


def test_senders_cooling_down_and_banned_are_counted_with_the_cooldown_s_end(senders):
    campaign = started(build.contacts(5), senders, timezone="Europe/Berlin")
    until = NOON + timedelta(hours=1, minutes=5)
    Account.objects.filter(pk__in=[senders[0].pk, senders[1].pk]).update(
        status=Account.Status.COOLDOWN, cooldown_until=until
    )
    Account.objects.filter(pk=senders[2].pk).update(status=Account.Status.BANNED)
    found = why(campaign)
    assert found.codes == ["senders"]
    assert found.reasons[0].text == (
        "No sender can send now: 2 senders cooling down until 14:05 Europe/Berlin, 1 banned."
    )
    assert found.next_send_at == until


def test_one_unavailable_sender_of_several_is_a_note_not_a_stop(senders):
    campaign = started(build.contacts(5), senders)
    Account.objects.filter(pk=senders[0].pk).update(status=Account.Status.SPAM_LIMITED)
    found = why(campaign)
    assert found.sending
    assert [n.text for n in found.notes] == ["2 of 3 senders can send; 1 spam-limited."]


def test_every_sender_logged_out_or_paused_stops_it_with_no_next_send(senders):
    campaign = started(build.contacts(5), senders)
    Account.objects.filter(pk=senders[0].pk).update(status=Account.Status.REAUTH_REQUIRED)
    Account.objects.filter(pk=senders[1].pk).update(status=Account.Status.DISABLED)
    Account.objects.filter(pk=senders[2].pk).update(outreach_paused_until=NOON + timedelta(days=1))
    found = why(campaign)
    assert found.codes == ["senders"]
    assert "1 logged out (re-login required), 1 disabled, 1 sender with outreach paused until tomorrow" in (
        found.reasons[0].text
    )
    assert found.next_send_at is None


def test_people_no_sender_can_reach_are_counted_before_and_after_the_tick(senders):
    campaign = started(build.contacts(12, username=False), senders)
    found = why(campaign)
    assert found.codes == ["unreachable"]
    assert found.reasons[0].text.startswith("No sender can reach 12 people")
    tick(campaign)
    campaign.refresh_from_db()
    assert campaign.state == "finished"  # the planner skipped them all, as the words said
    assert [n.text for n in why(campaign).notes] == [explain._unreachable_text(12)]


def test_a_campaign_started_on_an_empty_audience_says_nobody_is_there(senders):
    campaign = started([], senders)
    assert why(campaign).codes[0] == "audience_empty"


def test_everyone_opted_out_says_so(senders):
    people = build.contacts(4)
    campaign = build.campaign(build.audience(people, exclude_opted_out=False), senders)
    type(people[0]).objects.filter(pk__in=[p.pk for p in people]).update(opted_out=True)
    services.campaign_start(campaign=campaign)
    found = why(campaign)
    assert found.codes[0] == "opted_out"
    assert found.reasons[0].text == "All 4 people in the audience opted out."


def test_when_only_follow_ups_are_left_it_names_the_next_one(senders):
    campaign = started(build.contacts(4), senders, follow_ups=[build.follow_up(2 * 86400)])
    tick(campaign)
    send_all(campaign)
    later = NOON + timedelta(hours=1)
    found = why(campaign, now=later)
    assert found.codes == ["follow_ups"]
    assert found.reasons[0].text == (
        "Every first message is sent; 4 follow-ups wait for their day, the next Wed 4 Mar 12:00 UTC."
    )
    assert found.next_send_at == NOON + timedelta(days=2)
    assert found.finish_at == NOON + timedelta(days=2)
    assert tick(campaign, now=later).follow_ups == 0
    assert tick(campaign, now=found.next_send_at).follow_ups == 4


def test_a_finished_and_an_archived_campaign_say_so(senders):
    campaign = started(build.contacts(2), senders)
    tick(campaign)
    send_all(campaign)
    tick(campaign, now=NOON + timedelta(minutes=1))
    found = why(campaign)
    assert found.codes == ["finished"]
    services.campaign_archive(campaign=campaign)
    assert why(campaign).codes == ["archived"]


def test_several_reasons_are_all_named(senders):
    campaign = started(build.contacts(3), senders, window_start=time(1), window_end=time(2))
    services.campaign_pause(campaign=campaign)
    assert why(campaign).codes == ["paused", "window"]


def test_a_campaign_whose_senders_were_all_removed_says_to_add_one(senders):
    campaign = started(build.contacts(2), senders)
    campaign.senders.clear()
    found = why(campaign)
    assert found.codes == ["no_senders"] and found.next_send_at is None
    assert tick(campaign).planned == 0


def test_senders_not_signed_in_yet_are_named(senders, make_account):
    campaign = started(build.contacts(2), senders[:1])
    campaign.senders.add(make_account(status=Account.Status.NEW))
    Account.objects.filter(pk=senders[0].pk).update(status=Account.Status.BANNED)
    assert why(campaign).reasons[0].text == "No sender can send now: 1 banned, 1 not signed in yet."


def test_when_everything_left_but_the_tick_has_not_noticed_it_says_it_finishes_next(senders):
    campaign = started(build.contacts(2), senders)
    tick(campaign)
    send_all(campaign)
    assert why(campaign).codes == ["done"]
    tick(campaign, now=NOON + timedelta(minutes=1))
    campaign.refresh_from_db()
    assert campaign.state == "finished"


def test_the_next_opening_follows_the_zone_across_a_daylight_saving_change(senders):
    # Berlin moves to summer time in the night to Sunday 29 March 2026: 09:00 is 07:00 UTC from then on.
    campaign = started(
        build.contacts(2), senders, window_start=time(9), window_end=time(18), timezone="Europe/Berlin"
    )
    saturday_evening = datetime(2026, 3, 28, 20, tzinfo=UTC)
    found = why(campaign, now=saturday_evening)
    assert found.next_send_at == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert "next send tomorrow 09:00 Europe/Berlin" in found.reasons[0].text
    assert tick(campaign, now=datetime(2026, 3, 29, 6, 59, tzinfo=UTC)).queued == []
    assert tick(campaign, now=datetime(2026, 3, 29, 7, 0, tzinfo=UTC)).queued != []
