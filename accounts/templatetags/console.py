"""The nav badge: how many accounts need an admin (re-login required, banned, spam-limited)."""

from __future__ import annotations

from django import template

from accounts.selectors import alert_count

register = template.Library()


@register.simple_tag
def accounts_alert_count() -> int:
    return alert_count()
