"""A person who wrote to two of our accounts the operator holds, and to a third the operator may not see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from inbox.models import Contact, Conversation, Label, Note
from outreach.models import Campaign, Recipient
from tests.support import outreach as build
from tests.support.inbox import conversation_make


@dataclass
class World:
    person: Contact
    stranger: Contact  # met only through the hidden account
    sales: Account
    support: Account
    hidden: Account
    at_sales: Conversation
    at_support: Conversation
    at_hidden: Conversation
    visible_campaign: Campaign
    hidden_campaign: Campaign


def _account(make_account, name: str) -> Account:
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name=name)
    account.refresh_from_db()
    return account


@pytest.fixture
def world(make_account, operator) -> World:
    sales, support, hidden = (
        _account(make_account, n) for n in ("Sales Desk", "Support Desk", "Hidden Desk")
    )
    sales.operators.add(operator)
    support.operators.add(operator)
    person = Contact.objects.create(
        telegram_id=5550001, first_name="Grace", last_name="Hopper", username="ghopper", phone="+1 555 0100"
    )
    stranger = Contact.objects.create(
        telegram_id=5550002, first_name="Secret", last_name="Sam", username="ssam"
    )
    at_sales = conversation_make(sales, title="Grace Hopper", peer_id=5550001, texts=("Price list please",))
    at_support = conversation_make(
        support, title="Grace Hopper", peer_id=5550001, texts=("My order is late",)
    )
    at_hidden = conversation_make(hidden, title="Grace Hopper", peer_id=5550001, texts=("Classified plan",))
    lone = conversation_make(hidden, title="Secret Sam", peer_id=5550002, texts=("Top secret",))
    Conversation.objects.filter(pk__in=[at_sales.pk, at_support.pk, at_hidden.pk]).update(contact=person)
    Conversation.objects.filter(pk=lone.pk).update(contact=stranger)
    vip, spy = Label.objects.create(name="VIP"), Label.objects.create(name="Spylabel")
    at_sales.labels.add(vip)
    at_hidden.labels.add(spy)
    Note.objects.create(conversation=at_support, text="Call her Monday")
    Note.objects.create(conversation=at_hidden, text="Hidden note")
    now = timezone.now()
    campaigns = []
    for name, sender in (("Spring promo", sales), ("Secret campaign", hidden)):
        campaign = build.campaign(build.audience([person], name=f"{name} audience"), [sender])
        Campaign.objects.filter(pk=campaign.pk).update(name=name)
        Recipient.objects.create(
            campaign=campaign, contact=person, account=sender, state="replied",
            first_sent_at=now - timedelta(days=2), replied_at=now - timedelta(days=1),
        )  # fmt: skip
        campaigns.append(Campaign.objects.get(pk=campaign.pk))
    for c in (at_sales, at_support, at_hidden, lone):
        c.refresh_from_db()
    return World(person, stranger, sales, support, hidden, at_sales, at_support, at_hidden, *campaigns)
