"""Reading what a person typed into a custom field: each kind has one parser that returns the canonical
text to store, or raises ``FieldError`` with a sentence the panel shows. Nothing is stored on an error."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from contacts.models import CustomField
from crm.parsing import text_problem

MAX_TEXT = 500
MAX_CHOICES = 50
MAX_CHOICE = 100
# A number as people type it: sign, up to 15 digits, a point and up to 6 decimals. Past that it is a
# typo or a probe (and Decimal on 5,000 digits is work we need not do).
NUMBER = re.compile(r"[+-]?[0-9]{1,15}(?:[.,][0-9]{1,6})?")
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class FieldError(ValueError):
    """A value a field cannot take; ``str()`` says why in words for the person who typed it."""


def field_value_parse(*, field: CustomField, raw: str) -> str:
    """The canonical text of ``raw`` for ``field`` ("" clears the value)."""
    if problem := text_problem(raw, max_length=MAX_TEXT):
        raise FieldError(problem)
    text = raw.strip()
    if not text:
        return ""
    if field.kind == CustomField.Kind.NUMBER:
        return _number(text)
    if field.kind == CustomField.Kind.DATE:
        return _date(text)
    if field.kind == CustomField.Kind.CHOICE:
        if text not in field.choices:
            raise FieldError(f"“{text[:40]}” is not one of the choices: {', '.join(field.choices)}")
        return text
    return text


def _number(text: str) -> str:
    if not NUMBER.fullmatch(text):
        raise FieldError("A number has digits, an optional sign and point (at most 15 digits, 6 decimals)")
    number = Decimal(text.replace(",", "."))
    canonical = format(number.normalize(), "f")
    return "0" if canonical in ("-0", "+0") else canonical


def _date(text: str) -> str:
    match = DATE.fullmatch(text)
    if not match:
        raise FieldError("A date looks like 2026-11-26 (year-month-day)")
    try:
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError as error:  # 2026-02-30, month 13, year 0
        raise FieldError(f"There is no such date as {text}") from error


def choices_parse(raw: str) -> list[str]:
    """The choices of a choice field, one a line (or comma-separated), without repeats."""
    if problem := text_problem(raw, max_length=MAX_CHOICES * (MAX_CHOICE + 1)):
        raise FieldError(problem)
    items = [item.strip() for item in re.split(r"[\n,]", raw)]
    choices = list(dict.fromkeys(item for item in items if item))
    if not choices:
        raise FieldError("A choice field needs at least one choice")
    if len(choices) > MAX_CHOICES:
        raise FieldError(f"At most {MAX_CHOICES} choices")
    if long := [c for c in choices if len(c) > MAX_CHOICE]:
        raise FieldError(f"A choice has at most {MAX_CHOICE} characters (“{long[0][:30]}…”)")
    return choices
