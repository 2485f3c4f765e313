"""Deals and stages through the services: moves and their history, races, hostile values, who sees what."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from inbox.models import Contact
from pipeline import selectors, services
from pipeline.models import Deal, DealMove, Stage
from pipeline.services import DealMoved, PipelineError

pytestmark = pytest.mark.django_db


def _deal(world, by, *, stage=None, contact=None, title="Flat on Harbour St", value=Decimal("1500")) -> Deal:
    return services.deal_create(
        contact=contact or world.contact,
        title=title,
        value=value,
        currency="eur",
        owner=by,
        expected_close=None,
        stage=stage,
        by=by,
    )


def test_a_new_deal_starts_in_the_first_open_stage_and_its_creation_is_recorded(world, operator):
    deal = _deal(world, operator)
    assert deal.stage == world.stages["Lead"] and deal.currency == "EUR" and deal.closed_at is None
    [created] = deal.moves.all()
    assert created.from_stage is None and created.to_name == "Lead" and created.by == operator


def test_every_move_is_recorded_with_who_when_from_and_to(world, operator, admin_user):
    deal = _deal(world, operator)
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Proposal"], by=operator
    )
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Proposal"].pk, to_stage=world.stages["Won"], by=admin_user
    )
    deal.refresh_from_db()
    assert deal.stage == world.stages["Won"] and deal.closed_at is not None
    history = [(m.from_name, m.to_name, m.by) for m in selectors.deal_history(deal=deal)]
    assert history == [
        ("Proposal", "Won", admin_user),
        ("Lead", "Proposal", operator),
        ("", "Lead", operator),
    ]


def test_a_move_from_a_stage_the_deal_has_left_is_refused_and_changes_nothing(world, operator, admin_user):
    deal = _deal(world, operator)
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Qualified"], by=admin_user
    )
    stale = Deal.objects.get(pk=deal.pk)
    with pytest.raises(DealMoved, match="was moved to Qualified meanwhile"):
        services.deal_move(
            deal=stale, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Lost"], by=operator
        )
    deal.refresh_from_db()
    assert deal.stage == world.stages["Qualified"] and deal.moves.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_people_moving_the_same_card_at_once_one_wins_and_the_other_is_told(world, operator, admin_user):
    deal = _deal(world, operator)
    lead = world.stages["Lead"].pk
    barrier, outcomes = threading.Barrier(2), []

    def move(to: Stage, by) -> None:
        try:
            barrier.wait()
            services.deal_move(deal=Deal.objects.get(pk=deal.pk), from_stage_id=lead, to_stage=to, by=by)
            outcomes.append(("moved", to.name))
        except DealMoved:
            outcomes.append(("refused", to.name))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(world.stages["Won"], operator)),
        threading.Thread(target=move, args=(world.stages["Lost"], admin_user)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(kind for kind, _ in outcomes) == ["moved", "refused"]
    winner = next(name for kind, name in outcomes if kind == "moved")
    deal.refresh_from_db()
    assert deal.stage.name == winner
    assert [m.to_name for m in deal.moves.all()] == [winner, "Lead"]


def test_a_contact_has_one_open_deal_at_a_time(world, operator):
    first = _deal(world, operator)
    with pytest.raises(PipelineError, match="has an open deal already"):
        _deal(world, operator, title="Second flat")
    services.deal_move(
        deal=first, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Lost"], by=operator
    )
    second = _deal(world, operator, title="Second flat")
    with pytest.raises(PipelineError, match="has an open deal already"):  # reopening the lost one
        services.deal_move(
            deal=first, from_stage_id=world.stages["Lost"].pk, to_stage=world.stages["Lead"], by=operator
        )
    assert Deal.objects.get(pk=first.pk).stage == world.stages["Lost"] and second.closed_at is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "must be a number"),
        (Decimal("sNaN"), "must be a number"),
        (Decimal("Infinity"), "must be a number"),
        (Decimal("-1"), "cannot be negative"),
        (Decimal("9" * 5000), "too large"),
        (Decimal("1e999"), "too large"),
    ],
)
def test_hostile_values_are_refused_with_a_reason(world, operator, value, message):
    with pytest.raises(PipelineError, match=message):
        _deal(world, operator, value=value)
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "plain amount"),
        ("-5", "cannot be negative"),
        ("9" * 5000, "plain amount"),
        ("1e5", "plain amount"),
        ("1,5a", "plain amount"),
        ("١٢٣", "plain amount"),
        ("999999999999999", "too large"),
    ],
)
def test_typed_amounts_that_are_not_amounts_are_refused(text, message):
    with pytest.raises(PipelineError, match=message):
        services.value_parse(text)


def test_typed_amounts_are_read_as_people_write_them():
    assert services.value_parse("1,500.5") == Decimal("1500.50")
    assert services.value_parse(" 2 000 ") == Decimal("2000.00")
    assert services.value_parse("") == Decimal(0)
    assert services.value_parse(".5") == Decimal("0.50")


def test_titles_with_nul_or_nothing_are_refused(world, operator):
    with pytest.raises(PipelineError, match="NUL"):
        _deal(world, operator, title="bad\x00title")
    with pytest.raises(PipelineError, match="Give the title"):
        _deal(world, operator, title="   ")
    with pytest.raises(PipelineError, match="three letters"):
        services.deal_create(
            contact=world.contact,
            title="x",
            value=Decimal(1),
            currency="€€",
            owner=None,
            expected_close=None,
            stage=None,
            by=operator,
        )


def test_a_stage_with_deals_cannot_be_deleted_and_says_how_many(world, operator, make_account):
    _deal(world, operator)
    other = Contact.objects.create(telegram_id=7_001_003, first_name="Ada")
    _deal(world, operator, contact=other, title="Another")
    with pytest.raises(PipelineError, match="“Lead” holds 2 deals; move them to another stage first"):
        services.stage_delete(stage=world.stages["Lead"])
    services.stage_delete(stage=world.stages["Proposal"])
    assert not Stage.objects.filter(name="Proposal").exists()


def test_stages_are_added_at_the_end_reordered_renamed_and_keep_unique_names(world):
    added = services.stage_create(name="Negotiation", kind="open")
    assert list(Stage.objects.values_list("name", flat=True))[-1] == "Negotiation"
    services.stage_shift(stage=added, by=-1)
    services.stage_shift(stage=added, by=-1)
    assert list(Stage.objects.values_list("name", flat=True)) == [
        "Lead",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    services.stage_shift(stage=world.stages["Lead"], by=-1)  # already first: nothing happens
    assert Stage.objects.first() == world.stages["Lead"]
    with pytest.raises(PipelineError, match="already"):
        services.stage_create(name="lead")
    services.stage_update(stage=added, name="Negotiating", kind="open")
    assert Stage.objects.filter(name="Negotiating").exists()


def test_history_keeps_the_old_stage_names_after_a_rename(world, operator):
    deal = _deal(world, operator)
    services.stage_update(stage=world.stages["Lead"], name="Inbound lead", kind="open")
    assert deal.moves.get().to_name == "Lead"


def test_a_stage_turned_won_closes_its_deals_and_cannot_reopen_into_a_clash(world, operator):
    deal = _deal(world, operator, stage=world.stages["Proposal"])
    services.stage_update(stage=world.stages["Proposal"], name="Proposal", kind="won")
    deal.refresh_from_db()
    assert deal.closed_at is not None
    _deal(world, operator, title="Next one")
    with pytest.raises(PipelineError, match="1 of its contacts has another open deal"):
        services.stage_update(stage=world.stages["Proposal"], name="Proposal", kind="open")
    assert Stage.objects.get(pk=world.stages["Proposal"].pk).kind == "won"


def test_operators_see_deals_of_contacts_they_meet_and_admins_see_all(world, operator, admin_user, outsider):
    mine = _deal(world, operator)
    hidden = _deal(world, admin_user, contact=world.hidden_contact, title="Not yours")
    assert set(selectors.deals_visible(user=operator)) == {mine}
    assert set(selectors.deals_visible(user=admin_user)) == {mine, hidden}
    assert not selectors.deals_visible(user=outsider).exists()
    board = {c.stage.name: c for c in selectors.board(user=operator)}
    assert [d.title for d in board["Lead"].deals] == ["Flat on Harbour St"]
    assert board["Lead"].totals == [("EUR", Decimal("1500.00"))]


def test_column_totals_are_per_currency(world, operator, admin_user):
    _deal(world, operator, value=Decimal("10.50"))
    other = Contact.objects.create(telegram_id=7_001_004, first_name="Lin")
    services.deal_create(
        contact=other,
        title="USD one",
        value=Decimal("5"),
        currency="USD",
        owner=None,
        expected_close=None,
        stage=None,
        by=operator,
    )
    third = Contact.objects.create(telegram_id=7_001_005, first_name="Kim")
    _deal(world, operator, contact=third, title="EUR two", value=Decimal("0.25"))
    lead = next(c for c in selectors.board(user=admin_user) if c.stage.name == "Lead")
    assert lead.totals == [("EUR", Decimal("10.75")), ("USD", Decimal("5.00"))] and lead.count == 3
    # the operator meets only Grace: the others' deals are neither shown nor counted
    lead = next(c for c in selectors.board(user=operator) if c.stage.name == "Lead")
    assert lead.totals == [("EUR", Decimal("10.50"))] and lead.count == 1


def test_timeline_entries_are_dated_and_hidden_from_who_cannot_see_the_contact(world, operator, outsider):
    deal = _deal(world, operator)
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Won"], by=operator
    )
    entries = selectors.timeline_entries(world.contact.pk, operator)
    assert [(e.kind, e.text, e.by) for e in entries] == [
        ("deal_moved", "Deal “Flat on Harbour St” moved from Lead to Won", "otto"),
        ("deal_created", "Deal “Flat on Harbour St” created in Lead", "otto"),
    ]
    assert entries[0].at >= entries[1].at and entries[0].deal_id == deal.pk
    assert selectors.timeline_entries(world.contact.pk, outsider) == []
    assert DealMove.objects.count() == 2


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at commit
def test_a_stage_deleted_while_a_form_was_open_is_named_as_such(world, operator):
    deal = _deal(world, operator)
    gone = Stage.objects.get(pk=world.stages["Qualified"].pk)
    services.stage_delete(stage=world.stages["Qualified"])
    with pytest.raises(PipelineError, match="deleted meanwhile"):
        services.deal_move(deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=gone, by=operator)
    other = Contact.objects.create(telegram_id=7_001_006, first_name="Mo")
    with pytest.raises(PipelineError, match="deleted meanwhile"):
        _deal(world, operator, contact=other, stage=gone)
    assert Deal.objects.get(pk=deal.pk).stage == world.stages["Lead"]
