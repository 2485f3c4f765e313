"""Writes about people: custom fields (admins) and each contact's values (anyone who sees the contact)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.fields import FieldError, choices_parse, field_value_parse
from contacts.models import CustomField, FieldValue
from crm.parsing import text_problem
from inbox.models import Contact


def custom_field_create(*, name: str, kind: str, choices: str = "") -> CustomField:
    """A new field for every contact; raises ``FieldError`` with the reason when it cannot be."""
    name = _field_name(name)
    if kind not in CustomField.Kind.values:
        raise FieldError("Choose a kind: text, number, date or choice")
    parsed = choices_parse(choices) if kind == CustomField.Kind.CHOICE else []
    if CustomField.objects.filter(name__iexact=name).exists():
        raise FieldError(f"There is a field “{name}” already")
    try:
        with transaction.atomic():
            return CustomField.objects.create(
                name=name, kind=kind, choices=parsed, position=CustomField.objects.count()
            )
    except IntegrityError as error:  # the same name added at the same moment
        raise FieldError(f"There is a field “{name}” already") from error


def custom_field_rename(*, field: CustomField, name: str) -> None:
    """Rename the field; every contact's value stays (values belong to the field, not to its name).
    Raises ``FieldError`` for an empty, long or taken name."""
    name = _field_name(name)
    if CustomField.objects.filter(name__iexact=name).exclude(pk=field.pk).exists():
        raise FieldError(f"There is a field “{name}” already")
    try:
        with transaction.atomic():
            CustomField.objects.filter(pk=field.pk).update(name=name)
    except IntegrityError as error:  # the same name given at the same moment
        raise FieldError(f"There is a field “{name}” already") from error
    field.name = name


def _field_name(name: str) -> str:
    if problem := text_problem(name, max_length=60):
        raise FieldError(problem)
    name = name.strip()
    if not name:
        raise FieldError("Give the field a name")
    return name


def custom_field_delete(*, field: CustomField) -> None:
    """The field goes with every contact's value of it."""
    field.delete()


def field_value_set(*, contact: Contact, field: CustomField, raw: str, by: Any) -> str:
    """Store ``raw`` (validated by the field's kind) as the contact's value; "" clears it. Returns the
    stored text. Raises ``FieldError`` and stores nothing when the value does not fit the field."""
    value = field_value_parse(field=field, raw=raw)
    if not value:
        FieldValue.objects.filter(contact=contact, field=field).delete()
        return ""
    FieldValue.objects.update_or_create(
        contact=contact,
        field=field,
        defaults={"value": value, "updated_at": timezone.now(), "updated_by": by},
    )
    return value
