"""Who is online: every request of a signed-in user (an open page's stream included, which reconnects
every LIVE_STREAM_MAX_AGE seconds) marks them seen; online means seen within USER_ONLINE_MINUTES.

Teams auto-assign new conversations only to online operators (teams.assign), and the team page shows
each member's state, so "why did nobody get it" always has a visible answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin

from crm.models import User

# A user's row is written at most once a minute however many requests they make.
TOUCH_EVERY = timedelta(minutes=1)


def online_since() -> datetime:
    """Users seen after this moment are online."""
    return timezone.now() - timedelta(minutes=settings.USER_ONLINE_MINUTES)


def is_online(user: Any) -> bool:
    seen = getattr(user, "last_seen_at", None)
    return bool(user.is_active and seen is not None and seen > online_since())


def seen_touch(*, user: Any) -> None:
    """Mark the user seen now (no write when they were marked within the last minute)."""
    now = timezone.now()
    if user.last_seen_at is None or now - user.last_seen_at >= TOUCH_EVERY:
        User.objects.filter(pk=user.pk).update(last_seen_at=now)
        user.last_seen_at = now


class PresenceMiddleware(MiddlewareMixin):
    """After authentication: a signed-in user's request marks them seen."""

    def process_request(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            seen_touch(user=user)
