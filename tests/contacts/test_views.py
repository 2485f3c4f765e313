"""The contact panel, a contact's page, the contacts page and its CSV: what each shows, and that an
operator sees a person only through the accounts granted to them."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from contacts import services
from contacts.models import CustomField, FieldValue
from inbox.models import Contact, OptOut

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(admin_user):
    """An admin's own client (``admin_client`` and ``operator_client`` share one)."""
    web = Client()
    web.force_login(admin_user)
    return web


def text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def rows(client, **query):
    response = client.get(reverse("contacts:export"), query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_panel_shows_the_person_and_every_conversation_through_granted_accounts(operator_client, world):
    page = text(operator_client.get(reverse("contacts:panel", args=[world.person.pk])))
    assert "Grace Hopper" in page and "@ghopper" in page and "+1 555 0100" in page
    assert reverse("inbox:conversation", args=[world.at_sales.pk]) in page
    assert reverse("inbox:conversation", args=[world.at_support.pk]) in page
    assert "Sales Desk" in page and "Support Desk" in page
    assert "VIP" in page and "Spring promo" in page and "replied" in page
    assert "Price list please" in page and "My order is late" in page and "Call her Monday" in page


def test_the_panel_never_reveals_what_goes_through_other_accounts(operator_client, world):
    page = text(operator_client.get(reverse("contacts:panel", args=[world.person.pk])))
    for secret in ("Hidden Desk", "Classified plan", "Hidden note", "Spylabel", "Secret campaign"):
        assert secret not in page
    assert reverse("inbox:conversation", args=[world.at_hidden.pk]) not in page
    detail = text(operator_client.get(reverse("contacts:detail", args=[world.person.pk])))
    assert "Classified plan" not in detail and "Secret campaign" not in detail


def test_admins_see_every_account_in_the_panel(admin_client, world):
    page = text(admin_client.get(reverse("contacts:panel", args=[world.person.pk])))
    assert "Hidden Desk" in page and "Classified plan" in page and "Secret campaign" in page


@pytest.mark.parametrize("name", ["panel", "detail"])
def test_a_person_met_only_through_other_accounts_is_not_found(operator_client, world, name):
    assert operator_client.get(reverse(f"contacts:{name}", args=[world.stranger.pk])).status_code == 404
    assert operator_client.get(reverse(f"contacts:{name}", args=[99999999])).status_code == 404


def test_an_outsider_cannot_set_a_field_on_someone_they_do_not_see(client, outsider, world):
    f = services.custom_field_create(name="Tier", kind="text")
    client.force_login(outsider)
    url = reverse("contacts:field_value", args=[world.person.pk, f.pk])
    assert client.post(url, {"value": "x"}).status_code == 404
    assert not FieldValue.objects.exists()


def test_the_conversation_pane_loads_the_panel(operator_client, world):
    page = text(operator_client.get(reverse("inbox:conversation", args=[world.at_sales.pk])))
    assert reverse("contacts:panel", args=[world.person.pk]) in page


def test_opted_out_shows_in_the_panel_and_the_timeline(operator_client, operator, world):
    OptOut.objects.create(contact=world.person, reason="said stop", created_by=operator)
    Contact.objects.filter(pk=world.person.pk).update(opted_out=True)
    page = text(operator_client.get(reverse("contacts:panel", args=[world.person.pk])))
    assert "Opted out: no campaign writes to them" in page and "said stop" in page


def test_a_field_is_edited_in_place_and_a_bad_value_comes_back_with_its_reason(operator_client, world):
    f = services.custom_field_create(name="Budget", kind="number")
    url = reverse("contacts:field_value", args=[world.person.pk, f.pk])
    ok = text(operator_client.post(url, {"value": "1500"}, HTTP_HX_REQUEST="true"))
    assert 'value="1500"' in ok and f'id="field-{f.pk}"' in ok
    bad = text(operator_client.post(url, {"value": "9" * 5000}, HTTP_HX_REQUEST="true"))
    assert "too long" in bad
    assert FieldValue.objects.get().value == "1500"
    plain = operator_client.post(url, {"value": "lots"})
    assert plain.status_code == 400 and b"at most 15 digits" in plain.content
    assert (
        operator_client.post(reverse("contacts:field_value", args=[world.person.pk, 999999])).status_code
        == 404
    )


def test_the_contacts_page_lists_only_people_met_through_granted_accounts(operator_client, admin_web, world):
    page = text(operator_client.get(reverse("contacts:index")))
    assert "Grace Hopper" in page and "Secret Sam" not in page
    assert "Secret Sam" in text(admin_web.get(reverse("contacts:index")))


@pytest.mark.parametrize("q", ["grace", "hop", "@ghopper", "0100", "555 01"])
def test_the_contacts_page_searches_names_usernames_and_phone_digits(admin_client, world, q):
    page = text(admin_client.get(reverse("contacts:index"), {"q": q}))
    assert "Grace Hopper" in page and "Secret Sam" not in page


@pytest.mark.parametrize("q", ["zzz", "!!!", "zz\x00zz", "a" * 5000])
def test_a_search_that_matches_nobody_says_so(admin_client, world, q):
    assert "No contacts match" in text(admin_client.get(reverse("contacts:index"), {"q": q}))


def test_filters(operator_client, operator, admin_web, world):
    def names(client, **query):
        page = text(client.get(reverse("contacts:index"), query))
        return {n for n in ("Grace Hopper", "Secret Sam") if n in page}

    assert names(admin_web, account=world.hidden.pk) == {"Grace Hopper", "Secret Sam"}
    assert names(operator_client, account=world.hidden.pk) == set()  # not through a hidden account
    assert names(operator_client, account=world.sales.pk) == {"Grace Hopper"}
    vip = world.at_sales.labels.get()
    spy = world.at_hidden.labels.get()
    assert names(operator_client, label=vip.pk) == {"Grace Hopper"}
    assert names(operator_client, label=spy.pk) == set()
    assert names(admin_web, replied="1") == {"Grace Hopper"}
    assert names(admin_web, opted_out="yes") == set()
    assert names(admin_web, opted_out="no") == {"Grace Hopper", "Secret Sam"}
    tier = services.custom_field_create(name="Tier", kind="choice", choices="Gold,Silver")
    services.field_value_set(contact=world.stranger, field=tier, raw="Gold", by=None)
    assert names(admin_web, field=tier.pk, value="Gold") == {"Secret Sam"}
    assert names(admin_web, field=tier.pk, value="Silver") == set()
    assert names(admin_web, field=tier.pk) == {"Secret Sam"}


def test_replied_filter_counts_only_campaigns_through_granted_accounts(operator_client, world):
    from outreach.models import Recipient

    Recipient.objects.filter(campaign=world.visible_campaign).update(replied_at=None)
    page = text(operator_client.get(reverse("contacts:index"), {"replied": "1"}))
    assert "Grace Hopper" not in page


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "٣", "1e9", "100001", "\x00"])
def test_hostile_page_numbers_show_the_first_page(admin_client, world, page):
    assert "Grace Hopper" in text(admin_client.get(reverse("contacts:index"), {"page": page}))


def test_pages_of_fifty(admin_client, db):
    Contact.objects.bulk_create(Contact(telegram_id=900000 + n, first_name=f"P{n:03d}") for n in range(120))
    first = text(admin_client.get(reverse("contacts:index")))
    assert "P119" in first and "P070" in first and "P069" not in first and 'rel="next"' in first
    third = text(admin_client.get(reverse("contacts:index"), {"page": "3"}))
    assert "P019" in third and "P000" in third and 'rel="next"' not in third
    assert "No contacts match" in text(admin_client.get(reverse("contacts:index"), {"page": "9"}))


def test_csv_has_a_header_every_filtered_contact_and_their_fields(admin_client, world):
    tier = services.custom_field_create(name="Tier", kind="text")
    services.field_value_set(contact=world.person, field=tier, raw="Gold", by=None)
    table = rows(admin_client, q="grace")
    assert table[0] == [
        "id",
        "telegram_id",
        "first_name",
        "last_name",
        "username",
        "phone",
        "opted_out",
        "Tier",
    ]
    assert table[1:] == [
        [str(world.person.pk), "5550001", "Grace", "Hopper", "ghopper", "'+1 555 0100", "False", "Gold"]
    ]
    assert len(rows(admin_client)) == 3


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(admin_client, world):
    Contact.objects.filter(pk=world.person.pk).update(
        first_name='=HYPERLINK("http://x")', last_name="@SUM(1)"
    )
    tier = services.custom_field_create(name="-Tier", kind="text")
    services.field_value_set(contact=world.person, field=tier, raw="+cmd|' /C calc'!A0", by=None)
    table = rows(admin_client, q="ghopper")
    assert table[0][-1] == "'-Tier"
    assert table[1][2:4] == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]
    assert table[1][-1] == "'+cmd|' /C calc'!A0"


def test_csv_of_an_operator_holds_only_people_met_through_granted_accounts(operator_client, world):
    table = rows(operator_client)
    assert [r[2] for r in table[1:]] == ["Grace"]
    assert rows(operator_client, account=world.hidden.pk)[1:] == []


def test_custom_fields_settings_are_for_admins(operator_client):
    assert operator_client.get(reverse("fields:index")).status_code == 403
    assert operator_client.post(reverse("fields:index"), {"name": "X", "kind": "text"}).status_code == 403
    assert not CustomField.objects.exists()


def test_admins_add_and_delete_custom_fields(admin_client):
    answer = admin_client.post(
        reverse("fields:index"), {"name": "Tier", "kind": "choice", "choices": "Gold\nSilver"}
    )
    assert answer.status_code == 302
    f = CustomField.objects.get()
    assert f.choices == ["Gold", "Silver"]
    page = text(admin_client.get(reverse("fields:index")))
    assert "Tier" in page and "Gold, Silver" in page and 'aria-current="page">Custom fields' in page
    bad = admin_client.post(reverse("fields:index"), {"name": "Size", "kind": "choice", "choices": ""})
    assert bad.status_code == 400 and "at least one choice" in bad.content.decode()
    assert 'value="Size"' in bad.content.decode()  # what was typed stays
    admin_client.post(reverse("fields:delete", args=[f.pk]))
    assert not CustomField.objects.exists()


def test_operators_cannot_rename_a_custom_field(operator_client):
    tier = CustomField.objects.create(name="Tier", kind="text")
    assert operator_client.post(reverse("fields:rename", args=[tier.pk]), {"name": "Mine"}).status_code == 403
    assert CustomField.objects.get(pk=tier.pk).name == "Tier"


def test_admins_rename_a_custom_field(admin_client):
    tier = CustomField.objects.create(name="Tier", kind="text")
    url = reverse("fields:rename", args=[tier.pk])
    assert admin_client.post(url, {"name": "Customer tier"}).status_code == 302
    assert CustomField.objects.get(pk=tier.pk).name == "Customer tier"
    bad = admin_client.post(url, {"name": "  "})
    assert bad.status_code == 400 and "Customer tier: Give the field a name" in bad.content.decode()
    assert admin_client.post(reverse("fields:rename", args=[9999999]), {"name": "x"}).status_code == 404


@pytest.mark.parametrize("pk", ["9223372036854775807", "9223372036854775808", "9" * 40])
def test_ids_past_bigint_are_not_found(admin_client, world, pk):
    assert admin_client.get(f"/contacts/{pk}/").status_code == 404
    assert admin_client.get(f"/contacts/{pk}/panel/").status_code == 404
    assert admin_client.post(f"/contacts/{world.person.pk}/fields/{pk}/", {"value": "x"}).status_code == 404
