"""Do not contact across outreach (audiences, planning, the send at claim time) and campaigns beside the
inbox: a campaign's first message stays out of the Open queue until the person answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Account
from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
from inbox import optout, selectors, store
from inbox.models import Conversation, Message
from inbox.records import Batch
from outreach import planner, services
from outreach.models import Recipient, Send
from outreach.selectors import audience_contacts
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def tick(campaign, now=NOON):
    return planner.campaign_tick(campaign_id=campaign.pk, now=now, rng=random.Random(1))


@pytest.fixture
def sender(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    build.generous_limits(account)
    return account


def _queued(campaign):
    """Plan and queue every send now (what the tick does before handing them to the account)."""
    tick(campaign)
    Send.objects.filter(campaign=campaign, state=Send.State.PLANNED).update(state=Send.State.QUEUED)
    return list(Send.objects.filter(campaign=campaign).select_related("recipient__contact").order_by("id"))


def test_an_audience_leaves_out_people_opted_out_from_a_conversation(operator):
    people = build.contacts(3)
    aud = build.audience(people)
    optout.contact_opt_out(contact=people[1], reason="stop", by=operator)
    assert set(audience_contacts(audience=aud)) == {people[0], people[2]}


def test_planning_skips_a_person_opted_out_after_the_campaign_started(sender, operator):
    people = build.contacts(3)
    campaign = build.campaign(build.audience(people, exclude_opted_out=False), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    optout.contact_opt_out(contact=people[0], reason="stop", by=operator)
    assert tick(campaign).planned == 2
    assert Recipient.objects.get(campaign=campaign, contact=people[0]).reason == "Opted out"


def test_the_send_refuses_at_claim_time_a_person_opted_out_while_it_waited(sender, operator):
    people = build.contacts(2)
    campaign = build.campaign(build.audience(people), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    first, second = _queued(campaign)
    optout.contact_opt_out(contact=first.recipient.contact, reason="Wrote stop", by=operator)
    assert services.send_claim(send_id=first.pk, account_id=sender.pk) is None
    first.refresh_from_db()
    assert (first.state, first.reason) == (Send.State.SKIPPED, "Opted out")
    assert services.send_claim(send_id=second.pk, account_id=sender.pk) is not None  # others go on
    # Removing the opt-out later does not resurrect the refused send.
    admin = type(operator).objects.create_user("boss", password="x", role="admin")
    optout.contact_opt_out_remove(contact=first.recipient.contact, by=admin)
    assert services.send_claim(send_id=first.pk, account_id=sender.pk) is None


# --- beside the inbox --------------------------------------------------------------------------------


def _answer(account, contact, text="Yes, interested", telegram_id=5000):
    user = UserInfo(telegram_id=contact.telegram_id, access_hash=1, first_name=contact.first_name)
    peer = PeerInfo(peer_id=contact.telegram_id, kind="private", title=contact.first_name, user=user)
    record = MessageRecord(
        account_id=account.pk, peer=peer, telegram_id=telegram_id, out=False,
        date=NOON + timedelta(hours=1), text=text, sender=user, sender_name=contact.first_name,
    )  # fmt: skip
    store.ingest(Batch(messages=[record]))


def _open_queue(user):
    rows, _ = selectors.conversation_list(user=user, filters=selectors.Filters())
    return {c.pk for c in rows}


def test_a_campaign_conversation_joins_the_open_queue_with_the_answer(sender, admin_user):
    people = build.contacts(2)
    campaign = build.campaign(build.audience(people), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    for n, send in enumerate(_queued(campaign), start=1):
        services.send_claim(send_id=send.pk, account_id=sender.pk)
        services.send_done(send_id=send.pk, message_id=100 + n)
    convos = Conversation.objects.filter(account=sender).order_by("id")
    assert [(c.campaign_id, c.campaign_name, c.outreach_pending) for c in convos] == [
        (campaign.pk, "Spring", True), (campaign.pk, "Spring", True),
    ]  # fmt: skip
    assert set(Message.objects.values_list("campaign_name", flat=True)) == {"Spring"}
    assert _open_queue(admin_user) == set()
    waiting = selectors.Filters(state="outreach")
    assert {c.pk for c in selectors.conversation_list(user=admin_user, filters=waiting)[0]} == {
        c.pk for c in convos
    }
    _answer(sender, people[0])
    answered = Conversation.objects.get(account=sender, peer_id=people[0].telegram_id)
    assert _open_queue(admin_user) == {answered.pk}
    assert not Conversation.objects.get(pk=answered.pk).outreach_pending
    # "Replied to campaign Spring" lists the answered one only.
    replied = selectors.Filters(state="all", campaign=campaign.pk)
    assert [c.pk for c in selectors.conversation_list(user=admin_user, filters=replied)[0]] == [answered.pk]
    assert selectors.campaigns_answered(user=admin_user) == [(campaign.pk, "Spring")]


def test_a_follow_up_does_not_put_it_in_the_queue_either(sender, admin_user):
    people = build.contacts(1)
    campaign = build.campaign(build.audience(people), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    (send,) = _queued(campaign)
    services.send_claim(send_id=send.pk, account_id=sender.pk)
    services.send_done(send_id=send.pk, message_id=100)
    from inbox.services import sent_message_record

    sent_message_record(
        account_id=sender.pk, contact=people[0], telegram_id=101, date=NOON + timedelta(days=2),
        text="Just checking in", campaign_id=campaign.pk, campaign_name="Spring",
    )  # fmt: skip
    assert _open_queue(admin_user) == set()


def test_a_campaign_message_in_a_conversation_that_was_already_going_leaves_it_in_the_queue(
    sender, admin_user
):
    people = build.contacts(1)
    _answer(sender, people[0], text="Hello, I saw your ad", telegram_id=1)
    convo = Conversation.objects.get(account=sender)
    Conversation.objects.filter(pk=convo.pk).update(last_message_at=NOON)
    campaign = build.campaign(build.audience(people), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    (send,) = _queued(campaign)
    services.send_claim(send_id=send.pk, account_id=sender.pk)
    services.send_done(send_id=send.pk, message_id=100)
    convo.refresh_from_db()
    assert (convo.campaign_id, convo.outreach_pending) == (None, False)
    assert Message.objects.get(telegram_id=100).campaign_name == "Spring"  # the message still says so
    assert convo.pk in _open_queue(admin_user)


def test_the_inbox_shows_the_campaign_and_offers_the_replied_filter(sender, admin_user, admin_client):
    people = build.contacts(1)
    campaign = build.campaign(build.audience(people), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    (send,) = _queued(campaign)
    services.send_claim(send_id=send.pk, account_id=sender.pk)
    services.send_done(send_id=send.pk, message_id=100)
    convo = Conversation.objects.get(account=sender)
    pane = admin_client.get(reverse("inbox:conversation", args=[convo.pk])).content.decode()
    assert "Started by campaign <strong>Spring</strong>" in pane and "not in the Open queue" in pane
    assert "Campaign: Spring" in pane
    _answer(sender, people[0])
    page = admin_client.get(reverse("inbox:index")).content.decode()
    assert f'id="conv-{convo.pk}"' in page and "Replied to Spring" in page
    filtered = admin_client.get(reverse("inbox:index") + f"?state=all&campaign={campaign.pk + 1}")
    assert f'id="conv-{convo.pk}"' not in filtered.content.decode()
