"""One activity timeline per person: messages in and out across the conversations the user may see,
notes, opt-outs and campaigns, newest first; a new kind of activity joins as one more source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import timeline
from contacts.timeline import Entry
from inbox.models import Message, OptOut

pytestmark = pytest.mark.django_db


def kinds_and_texts(entries):
    return [(e.kind, e.text) for e in entries]


def test_it_merges_every_source_newest_first_through_visible_accounts(world, operator):
    now = timezone.now()
    Message.objects.filter(conversation=world.at_sales).update(date=now - timedelta(hours=3))
    Message.objects.filter(conversation=world.at_support).update(date=now - timedelta(hours=1))
    Message.objects.create(
        conversation=world.at_sales,
        telegram_id=99,
        direction="out",
        text="Here it is",
        date=now - timedelta(hours=2),
    )
    world.at_support.notes.update(created_at=now - timedelta(minutes=30))
    OptOut.objects.create(contact=world.person, reason="stop", created_at=now - timedelta(minutes=10))
    entries = timeline.timeline(user=operator, contact=world.person)
    assert kinds_and_texts(entries) == [
        ("opt_out", "stop"),
        ("note", "Call her Monday"),
        ("message_in", "My order is late"),
        ("message_out", "Here it is"),
        ("message_in", "Price list please"),
        ("campaign_reply", "Spring promo"),
        ("campaign", "Spring promo"),
    ]
    texts = {e.text for e in entries}
    assert not texts & {"Classified plan", "Hidden note", "Secret campaign"}


def test_it_keeps_the_newest_entries_up_to_the_limit(world, admin_user):
    Message.objects.bulk_create(
        Message(conversation=world.at_hidden, telegram_id=100 + n, direction="in", text=f"m{n}")
        for n in range(30)
    )
    entries = timeline.timeline(user=admin_user, contact=world.person, limit=5)
    assert len(entries) == 5
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)


def test_deleted_messages_stay_out(world, admin_user):
    Message.objects.filter(conversation=world.at_sales).update(deleted=True)
    texts = {e.text for e in timeline.timeline(user=admin_user, contact=world.person)}
    assert "Price list please" not in texts and "My order is late" in texts


def test_a_new_kind_of_activity_joins_as_one_source(world, admin_user, monkeypatch):
    def stage_changes(user, contact, limit):
        return [Entry(at=timezone.now() + timedelta(days=1), kind="stage", text="Won")]

    monkeypatch.setattr(timeline, "SOURCES", [*timeline.SOURCES, stage_changes])
    assert kinds_and_texts(timeline.timeline(user=admin_user, contact=world.person))[0] == ("stage", "Won")


def test_deal_stage_changes_join_the_timeline(world, operator, admin_user):
    from decimal import Decimal

    from pipeline import services as pipeline
    from pipeline.models import Stage

    # Its own stages: a transactional test before this one may have flushed the ones migrations seed.
    Stage.objects.all().delete()
    first, second = (pipeline.stage_create(name=name) for name in ("Lead", "Proposal"))
    deal = pipeline.deal_create(
        contact=world.person, title="Big order", value=Decimal(100), currency="USD", owner=None,
        expected_close=None, stage=first, by=admin_user,
    )  # fmt: skip
    pipeline.deal_move(deal=deal, from_stage_id=first.pk, to_stage=second, by=admin_user)
    entries = [e for e in timeline.timeline(user=operator, contact=world.person) if e.kind.startswith("deal")]
    assert [(e.kind, e.who) for e in entries] == [("deal_moved", "ada"), ("deal_created", "ada")]
    assert "Big order" in entries[0].text and second.name in entries[0].text
