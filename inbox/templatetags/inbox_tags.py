"""Small display helpers for the inbox templates (the computing stays out of the templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.db.models import Count, Max, Q
from django.utils import timezone

from inbox.models import Notification, NotificationPreference

register = template.Library()


@register.filter
def seconds_until(moment: datetime | None) -> int:
    """Whole seconds from now until ``moment`` (0 once it has passed)."""
    if moment is None:
        return 0
    return max(0, int((moment - timezone.now()).total_seconds() + 0.999))


@register.filter
def short_time(moment: datetime | None) -> str:
    """ "14:05" today, "Mon" this week, "3 Nov" this year, "3 Nov 2025" before."""
    if moment is None:
        return ""
    local, now = timezone.localtime(moment), timezone.localtime()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if (now - local).days < 6:
        return local.strftime("%a")
    if local.year == now.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


@register.filter
def initial(text: str) -> str:
    text = (text or "").strip().lstrip("@")
    return text[:1].upper() or "?"


@register.simple_tag
def delivery_note(message: Any, conversation: Any) -> str:
    """How an outbound message is doing, in plain words."""
    if message.direction != "out":
        return ""
    if message.delivery == "failed":
        return "not sent"
    if message.delivery == "pending":
        wait = seconds_until(conversation.account.cooldown_until)
        return f"queued — sending in {wait} s" if wait else "sending…"
    if message.telegram_id and message.telegram_id <= conversation.read_outbox_max_id:
        return "✓✓ read"
    return "✓ sent"


@register.simple_tag(takes_context=True)
def notification_state(context: Any) -> dict[str, Any]:
    """The signed-in user's unread notifications and the newest one's id, for the top bar and the tab
    title (static/js/notify.js)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"count": 0, "latest": 0, "browser": False}
    mine = Notification.objects.filter(user=user).aggregate(
        count=Count("id", filter=Q(read_at__isnull=True)), latest=Max("id")
    )
    return {
        "count": mine["count"],
        "latest": mine["latest"] or 0,
        "browser": not NotificationPreference.objects.filter(user=user, browser=False).exists(),
    }
