"""The board, the deal pages, the conversation pane's deal panel and Settings → Stages over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline import services
from pipeline.models import Deal, Stage

pytestmark = pytest.mark.django_db


def _deal(world, by, **fields) -> Deal:
    values = {"title": "Flat on Harbour St", "value": Decimal("1500"), "currency": "EUR", "owner": by}
    values |= fields
    return services.deal_create(contact=world.contact, expected_close=None, stage=None, by=by, **values)


def test_the_board_shows_columns_cards_and_totals(world, operator, operator_client):
    _deal(world, operator, value=Decimal("1234567.5"))
    page = operator_client.get("/pipeline/").content.decode()
    for name in ("Lead", "Qualified", "Proposal", "Won", "Lost"):
        assert f'aria-label="{name}"' in page
    assert "Flat on Harbour St" in page and "Grace Hopper" in page and "otto" in page
    assert "1,234,567.50 EUR" in page and "1 deal ·" in page
    assert "vendor/sortablejs/Sortable.min.js" in page


def test_the_board_hides_deals_of_contacts_the_operator_does_not_meet(world, admin_user, operator_client):
    hidden = services.deal_create(
        contact=world.hidden_contact, title="Secret deal", value=Decimal(1), currency="EUR",
        owner=None, expected_close=None, stage=None, by=admin_user,
    )  # fmt: skip
    assert "Secret deal" not in operator_client.get("/pipeline/").content.decode()
    assert operator_client.get(f"/pipeline/deals/{hidden.pk}/").status_code == 404
    response = operator_client.post(
        f"/pipeline/deals/{hidden.pk}/move/",
        {"from_stage": hidden.stage_id, "to_stage": world.stages["Won"].pk},
    )
    assert response.status_code == 404
    assert operator_client.get(f"/pipeline/deals/new/?contact={world.hidden_contact.pk}").status_code == 404


def test_the_move_button_moves_without_javascript(world, operator, operator_client):
    deal = _deal(world, operator)
    response = operator_client.post(
        f"/pipeline/deals/{deal.pk}/move/",
        {"from_stage": world.stages["Lead"].pk, "to_stage": world.stages["Proposal"].pk},
    )
    assert response.status_code == 302 and response["Location"] == "/pipeline/"
    deal.refresh_from_db()
    assert deal.stage == world.stages["Proposal"]


def test_a_stale_drag_is_refused_with_409_and_the_board_as_it_is(
    world, operator, admin_user, operator_client
):
    deal = _deal(world, operator)
    services.deal_move(
        deal=deal, from_stage_id=world.stages["Lead"].pk, to_stage=world.stages["Won"], by=admin_user
    )
    response = operator_client.post(
        f"/pipeline/deals/{deal.pk}/move/",
        {"from_stage": world.stages["Lead"].pk, "to_stage": world.stages["Lost"].pk},
        headers={"X-Requested-With": "fetch"},
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert body.lstrip().startswith('<div id="board"') and "was moved to Won meanwhile" in body
    deal.refresh_from_db()
    assert deal.stage == world.stages["Won"]


def test_a_move_without_a_target_stage_is_a_clear_400(world, operator, operator_client):
    deal = _deal(world, operator)
    for to_stage in ("", "abc", "99999999999999999999", "٣"):
        response = operator_client.post(
            f"/pipeline/deals/{deal.pk}/move/",
            {"from_stage": world.stages["Lead"].pk, "to_stage": to_stage},
            headers={"X-Requested-With": "fetch"},
        )
        assert response.status_code == 400 and "Choose the stage" in response.content.decode()


def test_the_conversation_pane_starts_and_moves_a_deal(world, operator, operator_client):
    pane = operator_client.get(f"/inbox/c/{world.conversation.pk}/").content.decode()
    assert 'id="deal-panel"' in pane and "Start deal" in pane
    url = f"/pipeline/deals/new/?contact={world.contact.pk}&pane={world.conversation.pk}"
    response = operator_client.post(
        url,
        {
            "title": "Lease",
            "value": "2,400",
            "currency": "gbp",
            "owner": operator.pk,
            "stage": world.stages["Lead"].pk,
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Lease" in body and "created in Lead" in body
    deal = Deal.objects.get(title="Lease")
    assert deal.value == Decimal("2400.00") and deal.currency == "GBP" and deal.owner == operator
    response = operator_client.post(
        f"/pipeline/deals/{deal.pk}/move/?pane={world.conversation.pk}",
        {"from_stage": world.stages["Lead"].pk, "to_stage": world.stages["Qualified"].pk},
        headers={"HX-Request": "true"},
    )
    assert "Lead → Qualified" in response.content.decode()
    pane = operator_client.get(f"/inbox/c/{world.conversation.pk}/").content.decode()
    assert "Lead → Qualified" in pane and "<strong>Qualified</strong>" in pane


def test_the_pane_without_javascript_redirects_back_to_the_conversation(world, operator, operator_client):
    url = f"/pipeline/deals/new/?contact={world.contact.pk}&pane={world.conversation.pk}"
    response = operator_client.post(url, {"title": "Lease", "value": "10", "currency": "EUR"})
    assert response.status_code == 302 and response["Location"] == f"/inbox/c/{world.conversation.pk}/"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "plain amount"),
        ("9" * 5000, "plain amount"),
        ("-20", "cannot be negative"),
        ("1e3", "plain amount"),
    ],
)
def test_hostile_values_in_the_form_are_explained_and_nothing_is_saved(
    world, operator_client, value, message
):
    url = f"/pipeline/deals/new/?contact={world.contact.pk}&pane={world.conversation.pk}"
    response = operator_client.post(
        url, {"title": "Lease", "value": value, "currency": "EUR"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not Deal.objects.exists()


def test_a_second_open_deal_is_refused_in_the_form(world, operator, operator_client):
    _deal(world, operator)
    response = operator_client.post(
        f"/pipeline/deals/new/?contact={world.contact.pk}",
        {"title": "Another", "value": "1", "currency": "EUR"},
    )
    assert "has an open deal already" in response.content.decode() and Deal.objects.count() == 1


def test_the_deal_page_edits_and_shows_its_history(world, operator, operator_client):
    deal = _deal(world, operator)
    page = operator_client.get(f"/pipeline/deals/{deal.pk}/").content.decode()
    assert (
        "Stage history" in page and "created in Lead" in page and f"/inbox/c/{world.conversation.pk}/" in page
    )
    response = operator_client.post(
        f"/pipeline/deals/{deal.pk}/",
        {
            "title": "Renamed",
            "value": "99.99",
            "currency": "usd",
            "owner": "",
            "expected_close": "2027-01-31",
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.value, deal.currency, deal.owner, str(deal.expected_close)) == (
        "Renamed", Decimal("99.99"), "USD", None, "2027-01-31",
    )  # fmt: skip
    bad = operator_client.post(
        f"/pipeline/deals/{deal.pk}/",
        {"title": "x\x00", "value": "1", "currency": "EUR", "expected_close": "2027-02-30"},
    )
    assert bad.status_code == 400
    deal.refresh_from_db()
    assert deal.title == "Renamed"


def test_stages_settings_are_for_admins_only(world, operator_client):
    assert operator_client.get("/settings/stages/").status_code == 403
    assert operator_client.post("/settings/stages/", {"name": "Sneaky", "kind": "open"}).status_code == 403
    assert not Stage.objects.filter(name="Sneaky").exists()


def test_admins_add_reorder_rename_and_delete_stages(world, admin_client, operator):
    page = admin_client.get("/settings/stages/").content.decode()
    assert 'aria-current="page">Stages</a>' in page
    assert admin_client.post("/settings/stages/", {"name": "Negotiation", "kind": "open"}).status_code == 302
    added = Stage.objects.get(name="Negotiation")
    admin_client.post(f"/settings/stages/{added.pk}/shift/", {"by": "-1"})
    assert list(Stage.objects.values_list("name", flat=True))[-3:] == ["Won", "Negotiation", "Lost"]
    admin_client.post(f"/settings/stages/{added.pk}/", {"name": "Talks", "kind": "open"})
    assert Stage.objects.get(pk=added.pk).name == "Talks"
    bad = admin_client.post("/settings/stages/", {"name": "", "kind": "open"})
    assert bad.status_code == 400 and "Give the stage name" in bad.content.decode()
    _deal(world, operator)
    refused = admin_client.post(f"/settings/stages/{world.stages['Lead'].pk}/delete/")
    assert (
        refused.status_code == 400
        and "“Lead” holds 1 deal; move it to another stage first" in refused.content.decode()
    )
    assert admin_client.post(f"/settings/stages/{added.pk}/delete/").status_code == 302
    assert not Stage.objects.filter(pk=added.pk).exists()


def _many_won(world, n):
    """``n`` won deals of the operator's contact (closed deals may be many), the newest titled last."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Deal.objects.bulk_create(
        Deal(contact=world.contact, title=f"Won {i:04d}", stage=world.stages["Won"], closed_at=now,
             updated_at=now - timedelta(minutes=n - i))
        for i in range(n)
    )  # fmt: skip


def test_a_column_with_thousands_of_deals_shows_one_page_and_a_show_more(world, operator_client):
    from pipeline.selectors import COLUMN_PAGE

    _many_won(world, 2_000)
    page = operator_client.get("/pipeline/").content.decode()
    assert page.count('class="deal-card"') == COLUMN_PAGE
    assert "2000 deals" in page and "Won 1999" in page and f"Won {1999 - COLUMN_PAGE:04d}" not in page
    won = world.stages["Won"].pk
    assert f'id="more-{won}"' in page and f"?offset={COLUMN_PAGE}" in page
    assert f'<span id="more-{world.stages["Lead"].pk}"></span>' in page  # an empty column offers nothing


def test_show_more_appends_the_next_page_and_moves_its_button(world, operator_client):
    from pipeline.selectors import COLUMN_PAGE

    _many_won(world, COLUMN_PAGE + 10)
    won = world.stages["Won"].pk
    more = operator_client.get(
        f"/pipeline/stages/{won}/cards/?offset={COLUMN_PAGE}", headers={"HX-Request": "true"}
    )
    body = more.content.decode()
    assert body.count('class="deal-card"') == 10 and "Won 0000" in body and f"Won {10:04d}" not in body
    assert f'<span id="more-{won}" hx-swap-oob="true"></span>' in body  # nothing left: the button goes
    first = operator_client.get(f"/pipeline/stages/{won}/cards/?offset=0").content.decode()
    assert first.count('class="deal-card"') == COLUMN_PAGE and f"offset={COLUMN_PAGE}" in first


def test_show_more_without_javascript_lengthens_that_column(world, operator_client):
    from pipeline.selectors import COLUMN_PAGE

    _many_won(world, COLUMN_PAGE * 3)
    won = world.stages["Won"].pk
    page = operator_client.get(f"/pipeline/?stage={won}&shown={COLUMN_PAGE * 2}").content.decode()
    assert page.count('class="deal-card"') == COLUMN_PAGE * 2
    assert f"shown={COLUMN_PAGE * 3}" in page


@pytest.mark.parametrize("offset", ["-1", "\x00", "9" * 5000, "abc", "999999999"])
def test_hostile_offsets_are_read_as_a_page_never_a_500(world, operator_client, offset):
    _many_won(world, 3)
    response = operator_client.get(f"/pipeline/stages/{world.stages['Won'].pk}/cards/", {"offset": offset})
    assert response.status_code == 200


def test_show_more_hides_deals_the_operator_does_not_see(world, admin_user, operator_client):
    Deal.objects.create(
        contact=world.hidden_contact,
        title="Secret won",
        stage=world.stages["Won"],
        closed_at=world.contact.created_at,
    )
    body = operator_client.get(f"/pipeline/stages/{world.stages['Won'].pk}/cards/").content.decode()
    assert "Secret won" not in body
    assert operator_client.get("/pipeline/stages/999999/cards/").status_code == 404
