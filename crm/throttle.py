"""Login throttling: count failures per username and per client address in Redis (Django's cache)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(*, username: str, address: str) -> list[str]:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{digest}", f"login-fail:addr:{address}"]


def login_blocked(*, username: str, address: str) -> bool:
    counts = cache.get_many(_keys(username=username, address=address))
    return any(count >= settings.LOGIN_THROTTLE_ATTEMPTS for count in counts.values())


def login_failed(*, username: str, address: str) -> None:
    for key in _keys(username=username, address=address):
        # add() only sets the expiry on the first failure, so the window does not slide forever.
        cache.add(key, 0, timeout=settings.LOGIN_THROTTLE_WINDOW)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.LOGIN_THROTTLE_WINDOW)


def login_succeeded(*, username: str, address: str) -> None:
    cache.delete(_keys(username=username, address=address)[0])
