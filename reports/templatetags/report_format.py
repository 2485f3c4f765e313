from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    """A table cell for people: durations as 1 h 5 min, rates as percentages, empty as a dash."""
    if value is None or value == "":
        return "—"
    if kind == "duration":
        seconds = round(float(value))
        if seconds < 60:
            return f"{seconds} s"
        if seconds < 3600:
            return f"{seconds // 60} min {seconds % 60} s"
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if kind == "rate":
        return f"{float(value) * 100:.1f} %"
    return str(value)
