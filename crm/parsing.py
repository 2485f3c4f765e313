"""Strict parsing of what arrives from query strings, forms and uploads — one place, used by every view.

Python is generous where a web form must not be: ``str.isdigit()`` is true for "٣" and "²", ``int()``
takes "٣", " 7 " and "1_000" and raises on strings past 4,300 digits, and a number past PostgreSQL's
bigint fails only when the query runs (DataError, a 500). PostgreSQL also refuses NUL in text. So ids
and page numbers are ASCII digits within bigint, text is refused with a clear message when it holds NUL
or runs too long, and uploads have a size cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

MAX_ID = 2**63 - 1  # PostgreSQL bigint, the widest id column we have
MAX_PAGE = 100_000  # far past any real list; a bigger number is a typo or a probe
MAX_IDS = 1_000  # ids one request may name (bulk selections, label sets)
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: int() would also take "٣", "1_000", " 7 "
_NUMBER = re.compile(r"[+-]?[0-9]{1,30}(?:\.[0-9]{1,30})?")  # what a number input sends


def parse_id(value: Any) -> int | None:
    """A row id (1 … bigint) from ASCII digits, else None — never an exception."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values: Iterable[Any]) -> list[int]:
    """The valid ids among ``values`` (at most MAX_IDS), in order, without repeats; the rest is dropped."""
    ids = (parse_id(value) for value in values)
    return list(dict.fromkeys(i for i in ids if i is not None))[:MAX_IDS]


def parse_page(value: Any) -> int:
    """A 1-based page number; anything that is not one (or is absurdly large) means the first page."""
    number = parse_id(value)
    return number if number is not None and number <= MAX_PAGE else 1


def text_problem(text: str, *, max_length: int | None = None) -> str | None:
    """Why ``text`` cannot be stored (NUL, a lone surrogate, too long), or None. For services that take
    raw text."""
    if "\x00" in text:
        return "The text contains a NUL character, which cannot be stored"
    try:
        text.encode()
    except UnicodeEncodeError:  # "\ud800" in JSON decodes to a lone surrogate: no database takes it
        return "The text is not valid Unicode (it contains a lone surrogate)"
    if max_length is not None and len(text) > max_length:
        return f"The text is too long (at most {max_length:,} characters)"
    return None


@deconstructible
class MaxUploadSize:
    """Form-field validator: the upload is at most ``limit`` bytes (Django caps form fields, not files)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, upload: Any) -> None:
        if upload is not None and getattr(upload, "size", 0) > self.limit:
            raise ValidationError(
                f"The file is too large (at most {self.limit // 1024 // 1024} MB)", code="file_too_large"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxUploadSize) and other.limit == self.limit


class _PlainNumber:
    """Django's number fields read through int()/float(), so they take "٣", "1_000" and "1e308" (which
    overflows a timedelta); these take what a number input sends: ASCII digits, a sign, a decimal point."""

    def to_python(self, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text and not _NUMBER.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")  # type: ignore[attr-defined]
        return super().to_python(value)  # type: ignore[misc]


class PlainIntegerField(_PlainNumber, forms.IntegerField):
    pass


class PlainFloatField(_PlainNumber, forms.FloatField):
    pass
