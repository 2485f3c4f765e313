"""Custom fields: admins define them; each contact's value is checked against the field's kind, and a
value that does not fit is refused with its reason and stores nothing."""

from __future__ import annotations

import pytest

from contacts import services
from contacts.fields import FieldError
from contacts.models import CustomField, FieldValue
from inbox.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return Contact.objects.create(telegram_id=777001, first_name="Ada")


def field(kind, choices=""):
    return services.custom_field_create(name=f"F {kind}", kind=kind, choices=choices)


def stored(person):
    return dict(FieldValue.objects.filter(contact=person).values_list("field__name", "value"))


@pytest.mark.parametrize(
    ("kind", "typed", "kept"),
    [
        ("text", "  Gold customer ", "Gold customer"),
        ("number", "0042", "42"),
        ("number", "-3.50", "-3.5"),
        ("number", "1,25", "1.25"),
        ("number", "-0", "0"),
        ("number", "100", "100"),
        ("date", "2024-02-29", "2024-02-29"),
    ],
)
def test_a_value_that_fits_is_stored_in_its_canonical_form(person, admin_user, kind, typed, kept):
    f = field(kind)
    assert services.field_value_set(contact=person, field=f, raw=typed, by=admin_user) == kept
    assert stored(person) == {f.name: kept}


@pytest.mark.parametrize(
    ("kind", "typed", "reason"),
    [
        ("text", "nul\x00byte", "NUL"),
        ("text", "x" * 501, "too long"),
        ("text", "\ud800", "surrogate"),
        ("number", "9" * 5000, "too long"),
        ("number", "9" * 400, "at most 15 digits"),
        ("number", "1e308", "at most 15 digits"),
        ("number", "NaN", "at most 15 digits"),
        ("number", "٣", "at most 15 digits"),
        ("number", "1_000", "at most 15 digits"),
        ("date", "2023-02-29", "no such date"),
        ("date", "2026-13-01", "no such date"),
        ("date", "0000-01-01", "no such date"),
        ("date", "26/11/2026", "year-month-day"),
        ("choice", "Platinum", "not one of the choices"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_and_nothing_is_stored(person, admin_user, kind, typed, reason):
    f = field(kind, "Gold, Silver")
    services.field_value_set(
        contact=person, field=f, raw="Gold" if kind in ("choice", "text") else "", by=None
    )
    before = stored(person)
    with pytest.raises(FieldError, match=reason):
        services.field_value_set(contact=person, field=f, raw=typed, by=admin_user)
    assert stored(person) == before


def test_an_empty_value_clears_the_field(person, admin_user):
    f = field("choice", "Gold\nSilver")
    services.field_value_set(contact=person, field=f, raw="Silver", by=admin_user)
    services.field_value_set(contact=person, field=f, raw="   ", by=admin_user)
    assert stored(person) == {}


def test_a_value_is_one_per_contact_and_field(person, admin_user):
    f = field("text")
    services.field_value_set(contact=person, field=f, raw="one", by=admin_user)
    services.field_value_set(contact=person, field=f, raw="two", by=admin_user)
    assert list(FieldValue.objects.values_list("value", flat=True)) == ["two"]


@pytest.mark.parametrize(
    ("name", "kind", "choices", "reason"),
    [
        ("", "text", "", "name"),
        ("Tier\x00", "text", "", "NUL"),
        ("Tier", "colour", "", "Choose a kind"),
        ("Tier", "choice", " , ,\n", "at least one choice"),
        ("Tier", "choice", ",".join(str(n) for n in range(60)), "At most 50"),
        ("Tier", "choice", "x" * 101, "at most 100 characters"),
    ],
)
def test_a_field_that_cannot_be_is_refused(name, kind, choices, reason):
    with pytest.raises(FieldError, match=reason):
        services.custom_field_create(name=name, kind=kind, choices=choices)
    assert not CustomField.objects.exists()


def test_two_fields_cannot_share_a_name():
    services.custom_field_create(name="Tier", kind="text")
    with pytest.raises(FieldError, match="already"):
        services.custom_field_create(name=" tier ", kind="number")


def test_choices_keep_their_order_without_repeats():
    f = services.custom_field_create(name="Tier", kind="choice", choices="Gold, Silver\nGold\nBronze")
    assert f.choices == ["Gold", "Silver", "Bronze"]


def test_deleting_a_field_deletes_its_values(person, admin_user):
    f = field("text")
    services.field_value_set(contact=person, field=f, raw="x", by=admin_user)
    services.custom_field_delete(field=f)
    assert not FieldValue.objects.exists()


def test_renaming_a_field_keeps_every_value(person):
    tier = services.custom_field_create(name="Tier", kind="choice", choices="Gold, Silver")
    services.field_value_set(contact=person, field=tier, raw="Gold", by=None)
    services.custom_field_rename(field=tier, name="  Customer tier ")
    assert stored(person) == {"Customer tier": "Gold"}
    assert CustomField.objects.get(pk=tier.pk).kind == "choice"


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "Give the field a name"), ("a\x00", "NUL"), ("x" * 61, "too long"), ("tier", "already")],
)
def test_a_rename_that_cannot_be_is_refused_and_changes_nothing(person, name, why):
    tier = services.custom_field_create(name="Tier", kind="text")
    other = services.custom_field_create(name="Region", kind="text")
    with pytest.raises(FieldError, match=why):
        services.custom_field_rename(field=other, name=name)
    assert CustomField.objects.get(pk=other.pk).name == "Region" and tier.name == "Tier"


def test_a_field_may_be_renamed_to_its_own_name_in_other_letters(person):
    tier = services.custom_field_create(name="tier", kind="text")
    services.custom_field_rename(field=tier, name="Tier")
    assert CustomField.objects.get(pk=tier.pk).name == "Tier"
