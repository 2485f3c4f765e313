"""Text on its way into PostgreSQL."""

from __future__ import annotations

import dataclasses
import operator
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

_ATOMS = frozenset({int, float, bool, bytes, type(None), datetime})
_init_fields: dict[type, tuple[str, ...]] = {}  # dataclass -> its init fields, looked up once


def without_nul(value: T) -> T:
    """``value`` with every NUL character removed, all the way down through dataclasses, dicts, lists and
    tuples. PostgreSQL text refuses NUL and jsonb refuses ``\\u0000``, while Telegram texts, names, titles,
    file names and link URLs may carry it: one such item must not fail the batch it arrived in.

    What holds no NUL comes back as the same object, so clean data (nearly all of it) is not copied."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    cls = type(value)
    if cls is str:
        return value.replace("\x00", "") if "\x00" in value else value
    if cls in _ATOMS:
        return value
    if isinstance(value, str):  # a str subclass
        return str.replace(value, "\x00", "") if "\x00" in value else value
    if isinstance(value, list | tuple):
        items = [_clean(v) for v in value]
        if all(map(operator.is_, items, value)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [(_clean(k), _clean(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    names = _fields_of(cls)
    if not names:
        return value  # datetimes and anything else that is not text
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = _clean(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


def _fields_of(cls: type) -> tuple[str, ...]:
    names = _init_fields.get(cls)
    if names is None:
        is_dataclass = dataclasses.is_dataclass(cls)
        names = tuple(f.name for f in dataclasses.fields(cls) if f.init) if is_dataclass else ()
        _init_fields[cls] = names
    return names


# Control characters (but newline and tab), bidirectional overrides and isolates, and zero-width
# characters: text from Telegram that reaches a program or an agent carries none of them, so nothing
# hidden can reorder or smuggle instructions into what a model reads.
_HIDDEN = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x061C, 0x180E,
     *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB]
)  # fmt: skip


def for_agents(text: str) -> str:
    """Telegram text as a program should see it: without control, bidi and zero-width characters."""
    return text.translate(_HIDDEN)
