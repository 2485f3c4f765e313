"""The board in Chromium: a card dragged to another column stays there after a reload; the Move button
under a card moves it too. Screenshots go to test-artifacts/pipeline/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline import services
from pipeline.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _drag(page, source, target) -> None:
    """A person's drag: press on the card, move in small steps over the other column, let go."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    x, y = end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 2, 30)
    page.mouse.move(x, y - 40, steps=15)
    page.mouse.move(x, y, steps=10)
    page.mouse.up()


def test_a_card_dragged_to_another_column_stays_there_after_a_reload(
    world, operator, operator_page, artifacts
):
    deal = services.deal_create(
        contact=world.contact, title="Flat on Harbour St", value=Decimal("1500"), currency="EUR",
        owner=operator, expected_close=None, stage=None, by=operator,
    )  # fmt: skip
    lead, proposal = world.stages["Lead"].pk, world.stages["Proposal"].pk
    page = operator_page
    page.goto("/pipeline/")
    page.wait_for_selector("#board.draggable")  # SortableJS is loaded and bound
    card = page.locator(f"#deal-{deal.pk}")
    assert card.get_attribute("data-stage") == str(lead)
    _drag(page, card.locator(".deal-contact"), page.locator(f'.board-cards[data-stage="{proposal}"]'))
    page.wait_for_selector(f'.board-cards[data-stage="{proposal}"] #deal-{deal.pk}[data-stage="{proposal}"]')
    page.screenshot(path=str(artifacts / "board-after-drag.png"))
    page.reload()
    page.wait_for_selector(f'.board-cards[data-stage="{proposal}"] #deal-{deal.pk}')
    assert Deal.objects.get(pk=deal.pk).stage_id == proposal
    assert (
        page.locator(f'.board-cards[data-stage="{proposal}"]')
        .locator("xpath=ancestor::section")
        .locator(".column-total")
        .inner_text()
        == "1 deal · 1,500.00 EUR"
    )
    [move] = [m for m in deal.moves.all() if m.from_stage_id]
    assert (move.from_name, move.to_name, move.by) == ("Lead", "Proposal", operator)


def test_a_drag_of_a_card_someone_else_moved_meanwhile_puts_it_where_it_is_and_says_so(
    world, operator, admin_user, operator_page
):
    deal = services.deal_create(
        contact=world.contact, title="Flat on Harbour St", value=Decimal("1500"), currency="EUR",
        owner=operator, expected_close=None, stage=None, by=operator,
    )  # fmt: skip
    page = operator_page
    page.goto("/pipeline/")
    page.wait_for_selector("#board.draggable")
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Won"], by=admin_user
    )
    lost = world.stages["Lost"].pk
    _drag(
        page,
        page.locator(f"#deal-{deal.pk} .deal-contact"),
        page.locator(f'.board-cards[data-stage="{lost}"]'),
    )
    page.wait_for_selector(".board-notice >> text=was moved to Won meanwhile")
    won = world.stages["Won"].pk
    assert page.locator(f'.board-cards[data-stage="{won}"] #deal-{deal.pk}').count() == 1
    assert Deal.objects.get(pk=deal.pk).stage_id == won


def test_the_move_button_under_a_card_moves_it(world, operator, operator_page, artifacts):
    deal = services.deal_create(
        contact=world.contact, title="Flat on Harbour St", value=Decimal("1500"), currency="EUR",
        owner=operator, expected_close=None, stage=None, by=operator,
    )  # fmt: skip
    qualified = world.stages["Qualified"].pk
    page = operator_page
    page.goto("/pipeline/")
    card = page.locator(f"#deal-{deal.pk}")
    card.locator("select[name=to_stage]").select_option(str(qualified))
    card.get_by_role("button", name="Move").click()
    page.wait_for_selector(f'.board-cards[data-stage="{qualified}"] #deal-{deal.pk}')
    page.screenshot(path=str(artifacts / "board-after-button.png"))
    assert Deal.objects.get(pk=deal.pk).stage_id == qualified


def test_a_deal_is_started_and_moved_from_the_conversation_pane(world, operator, operator_page, artifacts):
    page = operator_page
    page.goto(f"/inbox/c/{world.conversation.pk}/")
    panel = page.locator("#deal-panel")
    panel.locator("summary", has_text="New deal").click()
    panel.locator("input[name=title]").fill("Lease of the harbour flat")
    panel.locator("input[name=value]").fill("NaN")
    panel.get_by_role("button", name="Start deal").click()
    page.wait_for_selector("#deal-panel .error >> text=plain amount")  # explained in place, nothing saved
    assert not Deal.objects.exists()
    panel.locator("input[name=value]").fill("2,400")
    panel.get_by_role("button", name="Start deal").click()
    page.wait_for_selector("#deal-panel >> text=created in Lead")
    deal = Deal.objects.get()
    assert deal.value == Decimal("2400.00") and deal.owner == operator
    panel.locator("select[name=to_stage]").select_option(str(world.stages["Proposal"].pk))
    panel.get_by_role("button", name="Move").click()
    page.wait_for_selector("#deal-panel >> text=Lead → Proposal")
    page.screenshot(path=str(artifacts / "conversation-deal-panel.png"))
    assert Deal.objects.get().stage == world.stages["Proposal"]
    assert page.url.endswith(f"/inbox/c/{world.conversation.pk}/")  # swapped in place, no page change


def test_show_more_appends_a_columns_next_cards_and_they_can_be_moved(
    world, operator, operator_page, artifacts
):
    from datetime import timedelta

    from django.utils import timezone

    from pipeline.selectors import COLUMN_PAGE

    now, won = timezone.now(), world.stages["Won"]
    Deal.objects.bulk_create(
        Deal(contact=world.contact, title=f"Won {i:03d}", stage=won, closed_at=now,
             updated_at=now - timedelta(minutes=i))
        for i in range(COLUMN_PAGE + 5)
    )  # fmt: skip
    page = operator_page
    page.goto("/pipeline/")
    page.wait_for_selector("#board.draggable")
    cards = page.locator(f'.board-cards[data-stage="{won.pk}"] .deal-card')
    assert cards.count() == COLUMN_PAGE
    page.click(f"#more-{won.pk}")
    page.wait_for_function(
        f"n => document.querySelectorAll('.board-cards[data-stage=\"{won.pk}\"] .deal-card').length === n",
        arg=COLUMN_PAGE + 5,
    )
    assert page.locator(f"a#more-{won.pk}").count() == 0  # nothing more to show
    page.screenshot(path=str(artifacts / "board-show-more.png"))
    last = Deal.objects.get(title=f"Won {COLUMN_PAGE + 4:03d}")
    card = page.locator(f"#deal-{last.pk}")
    card.scroll_into_view_if_needed()
    lost = world.stages["Lost"].pk
    card.locator("select[name=to_stage]").select_option(str(lost))
    card.locator("button[type=submit]").click()
    page.wait_for_selector(f'.board-cards[data-stage="{lost}"] #deal-{last.pk}')
    assert Deal.objects.get(pk=last.pk).stage_id == lost
