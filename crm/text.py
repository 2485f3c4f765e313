"""Text on its way into PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def without_nul(value: T) -> T:
    """``value`` with every NUL character removed, all the way down through dataclasses, dicts, lists and
    tuples. PostgreSQL text refuses NUL and jsonb refuses ``\\u0000``, while Telegram texts, names, titles,
    file names and link URLs may carry it: one such item must not fail the batch it arrived in.

    Returns ``value`` itself when it holds no NUL, so clean data is not copied."""
    if not _holds_nul(value):
        return value
    cleaned: Any
    if isinstance(value, str):
        cleaned = value.replace("\x00", "")
    elif isinstance(value, dict):
        cleaned = {without_nul(k): without_nul(v) for k, v in value.items()}
    elif isinstance(value, list):
        cleaned = [without_nul(v) for v in value]
    elif isinstance(value, tuple):
        cleaned = tuple(without_nul(v) for v in value)
    else:  # a dataclass instance: _holds_nul looks into nothing else
        names = [f.name for f in dataclasses.fields(value) if f.init]  # type: ignore[arg-type]
        cleaned = dataclasses.replace(value, **{n: without_nul(getattr(value, n)) for n in names})
    return cleaned  # type: ignore[no-any-return]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds_nul(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init)
    return False
