"""The nav badge: how many webhook endpoints are disabled (410 Gone, failing for days, or by an admin)."""

from __future__ import annotations

from django import template

from webhooks.selectors import disabled_count

register = template.Library()


@register.simple_tag
def webhooks_disabled_count() -> int:
    return disabled_count()
