"""Editing, archiving and deleting campaigns: what may change while one runs, what may not (steps already
sent), hostile values in the edit form, and the list's and page's figures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse

from accounts.models import Account
from outreach import planner, selectors, services
from outreach.models import Campaign, FollowUp, Recipient, Send
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def tick(campaign, now=NOON):
    return planner.campaign_tick(campaign_id=campaign.pk, now=now, rng=random.Random(1))


def send_all(campaign) -> None:
    """Everything queued leaves (as the session host reports it), at NOON on the test's clock."""
    queued = list(Send.objects.filter(campaign=campaign, state="queued").values_list("id", flat=True))
    for n, send_id in enumerate(queued):
        services.send_done(send_id=send_id, message_id=2000 + n)
    Recipient.objects.filter(sends__id__in=queued).update(last_sent_at=NOON)


@pytest.fixture
def senders(make_account):
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(2)]
    for account in accounts:
        build.generous_limits(account)
    return accounts


def update(campaign, senders=None, **changes):
    campaign.refresh_from_db()
    values = dict(
        template=campaign.template,
        follow_ups=[(f.after, f.template) for f in campaign.follow_ups.all()],
        senders=list(senders if senders is not None else campaign.senders.all()),
        daily_cap=campaign.daily_cap,
        gap_min=campaign.gap_min,
        gap_max=campaign.gap_max,
        timezone=campaign.timezone,
    )
    values.update(changes)
    return services.campaign_update(campaign=campaign, **values)


def running(senders, n=10, **settings) -> Campaign:
    campaign = build.campaign(build.audience(build.contacts(n)), senders, **settings)
    services.campaign_start(campaign=campaign)
    return campaign


# -- the service ------------------------------------------------------------------------------------


def test_a_lower_cap_on_a_running_campaign_holds_from_the_next_tick(senders):
    campaign = running(senders, cap=5, gap_min=600, gap_max=600)
    tick(campaign)
    assert Send.objects.filter(campaign=campaign, state="planned").count() == 8  # 2 queued now, 8 later
    update(campaign, daily_cap=2)
    assert not Send.objects.filter(campaign=campaign, state="planned").exists()
    assert Recipient.objects.filter(campaign=campaign, account__isnull=True, step=-1).count() == 8
    tick(campaign, now=NOON + timedelta(seconds=1))
    assert Send.objects.filter(campaign=campaign).count() == 4  # 2 a sender, the queued ones included


def test_the_text_of_a_step_nobody_has_received_changes_what_is_planned(senders):
    campaign = running(senders, cap=5, gap_min=600, gap_max=600, follow_ups=[build.follow_up(86400)])
    tick(campaign)
    update(campaign, template="Brand new text", follow_ups=[(timedelta(days=3), "Later text")])
    tick(campaign, now=NOON + timedelta(seconds=1))
    assert set(Send.objects.filter(campaign=campaign, state="planned").values_list("text", flat=True)) == {
        "Brand new text"
    }
    assert FollowUp.objects.get(campaign=campaign).after == timedelta(days=3)


def test_a_step_that_has_gone_out_keeps_its_text_and_wait(senders):
    campaign = running(senders, cap=5, follow_ups=[build.follow_up(86400, "Any news?")])
    tick(campaign)
    send_all(campaign)
    with pytest.raises(services.CampaignError, match="The first message has gone to 10 people"):
        update(campaign, template="Another text")
    tick(campaign, now=NOON + timedelta(days=2))
    send_all(campaign)
    with pytest.raises(services.CampaignError, match="Follow-up 1 has gone to 10 people: its text"):
        update(campaign, follow_ups=[(timedelta(days=1), "Changed")])
    with pytest.raises(
        services.CampaignError, match="Follow-up 1 has gone to 10 people: it cannot be removed"
    ):
        update(campaign, follow_ups=[])
    # What may still change does: the cap, the window, a new step after the sent ones.
    update(
        campaign,
        daily_cap=50,
        window_start=time(8),
        follow_ups=[(timedelta(days=1), "Any news?"), (timedelta(days=2), "Last note")],
    )
    campaign.refresh_from_db()
    assert campaign.daily_cap == 50 and campaign.window_start == time(8)
    assert list(campaign.follow_ups.values_list("position", "template")) == [
        (1, "Any news?"),
        (2, "Last note"),
    ]


def test_the_audience_of_a_started_campaign_cannot_change(senders):
    campaign = running(senders)
    other = build.audience(build.contacts(2))
    with pytest.raises(services.CampaignError, match="audience was taken when the campaign started"):
        update(campaign, audience=other)
    draft = build.campaign(build.audience(build.contacts(1)), senders)
    update(draft, audience=other)
    draft.refresh_from_db()
    assert draft.audience == other


def test_a_removed_sender_gives_its_people_back_to_the_pool(senders):
    campaign = running(senders, cap=5, gap_min=600, gap_max=600)
    tick(campaign)
    update(campaign, senders=senders[1:])
    assert not Send.objects.filter(
        campaign=campaign, account=senders[0], state__in=("planned", "queued")
    ).exists()
    assert not Recipient.objects.filter(campaign=campaign, account=senders[0]).exists()
    tick(campaign, now=NOON + timedelta(seconds=1))
    assert set(Send.objects.filter(campaign=campaign).values_list("account_id", flat=True)) == {senders[1].pk}


def test_a_message_that_leaves_after_its_sender_was_removed_leaves_the_follow_ups_to_another(senders):
    """The removed sender's send was already on its host when the edit came: it still leaves, and its
    person's follow-ups must not wait for a sender the campaign no longer has."""
    campaign = running(senders, n=2, cap=5, gap_min=0, gap_max=0)
    FollowUp.objects.create(campaign=campaign, position=1, after=timedelta(hours=1), template="Any news?")
    tick(campaign)
    in_flight = Send.objects.filter(campaign=campaign, account=senders[0], step=0).first()
    assert in_flight is not None
    Send.objects.filter(pk=in_flight.pk).update(state=Send.State.SENDING)  # claimed by its host
    update(campaign, senders=senders[1:])
    services.send_done(send_id=in_flight.pk, message_id=4242)
    recipient = Recipient.objects.get(pk=in_flight.recipient_id)
    assert recipient.state == Recipient.State.CONTACTED and recipient.account_id is None
    Recipient.objects.filter(pk=recipient.pk).update(last_sent_at=NOON - timedelta(hours=2))
    tick(campaign, now=NOON + timedelta(seconds=1))
    follow_up = Send.objects.get(recipient=recipient, step=1)
    assert follow_up.account_id == senders[1].pk


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"template": "Hi\x00"}, "NUL character"),
        ({"template": "{Hi|Hello"}, "Template error"),
        ({"follow_ups": [(timedelta(days=1), "\ud800")]}, "lone surrogate"),
        ({"timezone": "Mars/Olympus_Mons"}, "Unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "Unknown time zone"),
        ({"gap_min": 90, "gap_max": 10}, "longest gap"),
        ({"senders": []}, "at least one sending account"),
        ({"gap_min": 500}, "longest gap"),  # the stored longest gap (0) is shorter
        ({"daily_cap": -1}, "Daily cap must be a whole number from 0 to 10,000"),
        ({"daily_cap": int("9" * 4000)}, "Daily cap must be a whole number"),
        ({"gap_max": 86_401}, "Gap max must be a whole number from 0 to 86,400"),
        ({"name": "Spring\x00"}, "Name: The text contains a NUL character"),
        ({"name": "   "}, "Name: give the campaign a name"),
    ],
)
def test_the_service_refuses_bad_changes_and_changes_nothing(senders, changes, message):
    campaign = running(senders)
    before = Campaign.objects.values().get(pk=campaign.pk)
    with pytest.raises(services.CampaignError, match=message):
        update(campaign, **changes)
    assert Campaign.objects.values().get(pk=campaign.pk) == before
    assert campaign.senders.count() == 2


def test_a_finished_or_archived_campaign_cannot_be_edited(senders):
    campaign = running(senders, n=1)
    services.campaign_archive(campaign=campaign)
    with pytest.raises(services.CampaignError, match="archived campaign cannot be changed"):
        update(campaign, daily_cap=3)


def test_archiving_keeps_what_was_sent_and_drops_what_was_not(senders):
    campaign = running(senders, cap=5, gap_min=600, gap_max=600)
    tick(campaign)
    sent = Send.objects.filter(campaign=campaign, state="queued").first()
    services.send_done(send_id=sent.pk, message_id=77)
    queued = Send.objects.filter(campaign=campaign, state="queued").first()
    services.campaign_archive(campaign=campaign)
    assert campaign.state == "archived" and campaign.archived_at is not None
    assert list(Send.objects.filter(campaign=campaign).values_list("state", flat=True)) == ["sent"]
    assert services.send_claim(send_id=queued.pk, account_id=queued.account_id) is None
    assert tick(campaign).planned == 0


def test_a_draft_is_deleted_outright_and_a_campaign_that_sent_asks_first(senders):
    draft = build.campaign(build.audience(build.contacts(1)), senders)
    services.campaign_delete(campaign=draft)
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    campaign = running(senders, n=2)
    tick(campaign)
    send_all(campaign)
    with pytest.raises(services.CampaignError, match=r"has sent 2 messages\. Archive it"):
        services.campaign_delete(campaign=campaign)
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    services.campaign_delete(campaign=campaign, confirm=True)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


# -- the pages --------------------------------------------------------------------------------------


def form_body(campaign, **override) -> dict:
    campaign.refresh_from_db()
    body = {
        "name": campaign.name,
        "template": campaign.template,
        "audience": campaign.audience_id,
        "senders": list(campaign.senders.values_list("pk", flat=True)),
        "daily_cap": campaign.daily_cap,
        "gap_min": campaign.gap_min,
        "gap_max": campaign.gap_max,
        "window_start": campaign.window_start.strftime("%H:%M"),
        "window_end": campaign.window_end.strftime("%H:%M"),
        "timezone": campaign.timezone,
    }
    return {**body, **override}


def test_the_edit_page_is_for_admins_only(client, admin_user, operator, senders):
    campaign = running(senders, n=1)
    url = reverse("outreach:campaign_edit", args=[campaign.pk])
    client.force_login(operator)
    assert client.get(url).status_code == 403
    assert client.post(url, form_body(campaign, daily_cap=1)).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200
    assert client.get(reverse("outreach:campaign_edit", args=[999_999])).status_code == 404


def test_an_admin_edits_a_running_campaign_s_window_and_cap(admin_client, senders):
    campaign = running(senders, n=1)
    response = admin_client.post(
        reverse("outreach:campaign_edit", args=[campaign.pk]),
        form_body(campaign, daily_cap=7, window_start="10:00", timezone="Europe/Berlin"),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.daily_cap, campaign.window_start, campaign.timezone) == (7, time(10), "Europe/Berlin")


def test_a_sent_first_message_is_shown_locked_and_a_posted_change_to_it_is_ignored(admin_client, senders):
    campaign = running(senders, n=2)
    tick(campaign)
    send_all(campaign)
    url = reverse("outreach:campaign_edit", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    assert 'id="locked-template"' in page and "the first message (to 2)" in page
    response = admin_client.post(url, form_body(campaign, template="Sneaky new text", daily_cap=9))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.template != "Sneaky new text" and campaign.daily_cap == 9


@pytest.mark.parametrize(
    "override",
    [
        {"name": "Spring\x00"},
        {"template": "Hello\x00 there"},
        {"daily_cap": "9" * 5000},
        {"daily_cap": "10001"},
        {"daily_cap": "-1"},
        {"gap_min": "1e308"},
        {"gap_max": "86401"},
        {"gap_min": "٣"},
        {"timezone": "Mars/Olympus_Mons"},
        {"window_start": "25:00"},
        {"follow_up_1_days": "9" * 5000, "follow_up_1": "Hi again"},
        {"follow_up_1_days": "1e308", "follow_up_1": "Hi again"},
        {"senders": []},
        {"senders": ["9" * 5000]},
    ],
)
def test_hostile_values_in_the_edit_form_are_form_errors_and_change_nothing(admin_client, senders, override):
    campaign = running(senders, n=1)
    before = Campaign.objects.values().get(pk=campaign.pk)
    response = admin_client.post(
        reverse("outreach:campaign_edit", args=[campaign.pk]), form_body(campaign, **override)
    )
    assert response.status_code == 200
    assert b'class="errorlist' in response.content or b'id="form-error"' in response.content
    assert Campaign.objects.values().get(pk=campaign.pk) == before


def test_a_service_refusal_is_shown_on_the_form(admin_client, senders):
    campaign = running(senders, n=1)
    response = admin_client.post(
        reverse("outreach:campaign_edit", args=[campaign.pk]), form_body(campaign, gap_min=90, gap_max=10)
    )
    assert response.status_code == 200
    assert "The longest gap must not be shorter than the shortest" in response.content.decode()


def test_archive_and_delete_from_the_page(admin_client, senders):
    campaign = running(senders, n=2)
    tick(campaign)
    send_all(campaign)
    action = lambda name, **body: admin_client.post(  # noqa: E731
        reverse("outreach:campaign_action", args=[campaign.pk, name]), body, follow=True
    )
    page = action("delete").content.decode()
    assert "has sent 2 messages. Archive it to keep its history" in page
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert "is archived; its history is kept" in action("archive").content.decode()
    assert campaign.pk not in [c.pk for c in admin_client.get(reverse("outreach:index")).context["campaigns"]]
    archived = admin_client.get(reverse("outreach:index") + "?archived=1").context["campaigns"]
    assert [c.pk for c in archived] == [campaign.pk]
    action("delete", confirm="yes")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_the_list_shows_sent_replied_and_the_reply_rate(admin_client, senders):
    campaign = running(senders, n=4)
    tick(campaign)
    send_all(campaign)
    Recipient.objects.filter(
        campaign=campaign, pk__in=Recipient.objects.filter(campaign=campaign).values("pk")[:1]
    ).update(replied_at=NOON, state="replied")
    response = admin_client.get(reverse("outreach:index"))
    row = next(c for c in response.context["campaigns"] if c.pk == campaign.pk)
    assert (row.recipient_count, row.sent_count, row.replied_count) == (4, 4, 1)
    assert "25%" in response.content.decode()


def test_the_campaign_page_shows_why_and_the_steps(admin_client, senders):
    campaign = running(
        senders, n=3, window_start=time(1), window_end=time(1, 30), follow_ups=[build.follow_up(86400)]
    )
    page = admin_client.get(reverse("outreach:campaign", args=[campaign.pk])).content.decode()
    assert 'data-code="window"' in page
    assert "Outside the send window (01:00-01:30 UTC): next send" in page
    assert 'id="step-0"' in page and 'id="step-1"' in page


def test_operators_cannot_archive_or_delete(client, operator, senders):
    campaign = running(senders, n=1)
    client.force_login(operator)
    for action in ("archive", "delete"):
        url = reverse("outreach:campaign_action", args=[campaign.pk, action])
        assert client.post(url, {"confirm": "yes"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == "running"


def test_each_step_has_its_own_planned_sent_read_and_replied_counts(admin_client, senders):
    campaign = running(senders, n=4, cap=10, follow_ups=[build.follow_up(86400, "Any news?")])
    tick(campaign)
    send_all(campaign)
    tick(campaign, now=NOON + timedelta(days=2))  # the follow-ups are due: four queued at once
    firsts = Send.objects.filter(campaign=campaign, step=0).order_by("id")
    Send.objects.filter(pk__in=[s.pk for s in firsts[:3]]).update(read_at=NOON)
    Send.objects.filter(pk=firsts[0].pk).update(replied_at=NOON)
    follow_ups = Send.objects.filter(campaign=campaign, step=1, state="queued").order_by("id")
    Send.objects.filter(pk__in=[s.pk for s in follow_ups[:2]]).update(state="failed")
    steps = {s.step: s for s in selectors.campaign_steps(campaign=campaign)}
    assert (steps[0].planned, steps[0].sent, steps[0].read, steps[0].replied, steps[0].not_sent) == (
        0,
        4,
        3,
        1,
        0,
    )
    assert (steps[1].planned, steps[1].sent, steps[1].read, steps[1].replied, steps[1].not_sent) == (
        2,
        0,
        0,
        0,
        2,
    )
    assert steps[1].after == timedelta(days=1) and steps[1].label == "Follow-up 1"
    page = admin_client.get(reverse("outreach:index")).content.decode()
    assert f'id="campaign-{campaign.pk}-step-0"' in page
    assert "1st 4/1" in page and "F1 0/0 (+2)" in page
    detail = admin_client.get(reverse("outreach:campaign", args=[campaign.pk])).content.decode()
    assert 'id="step-1"' in detail and "Follow-up 1" in detail
