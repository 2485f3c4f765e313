"""Login throttling: a growing delay per (username, client address), counted in Redis (Django's cache).

Keyed on the pair, so one address guessing at one user slows down only that pair: the same user from
another address, and everybody else behind the same reverse proxy, keep logging in. The first
LOGIN_THROTTLE_ATTEMPTS failures are free; each one after that makes the pair wait twice as long as the
last (LOGIN_THROTTLE_DELAY, doubling, up to LOGIN_THROTTLE_MAX_DELAY). Attempts during the wait are
refused without checking the password, so a correct guess inside the wait gains nothing.

The username is taken exactly as authentication sees it (see ``crm.forms``): Django's UsernameField
applies NFKC, and our User model matches the result case-sensitively, so fullwidth "ada" and "ada" are one
user (and one counter) while "ADA" is another username altogether.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def _key(kind: str, *, username: str, address: str) -> str:
    # Hashed: usernames are user input of any length and alphabet, and Redis keys get listed in tools.
    digest = hashlib.sha256(f"{username}\x00{address}".encode()).hexdigest()[:40]
    return f"login-{kind}:{digest}"


def login_wait(*, username: str, address: str) -> int:
    """Seconds this username must still wait before another attempt from this address (0: go ahead)."""
    until = cache.get(_key("until", username=username, address=address))
    if until is None:
        return 0
    return max(0, math.ceil(until - time.time()))


def login_failed(*, username: str, address: str) -> int:
    """Count a failed attempt; returns the wait it imposes (0 while within the free attempts)."""
    counter = _key("fail", username=username, address=address)
    window = settings.LOGIN_THROTTLE_WINDOW
    cache.add(counter, 0, timeout=window)
    try:
        failures = cache.incr(counter)
    except ValueError:  # expired between add() and incr()
        cache.set(counter, 1, timeout=window)
        failures = 1
    # Every failure keeps the memory of the earlier ones: the delay grows for as long as guessing goes on.
    cache.touch(counter, window)
    beyond = failures - settings.LOGIN_THROTTLE_ATTEMPTS
    if beyond < 0:
        return 0
    delay = min(settings.LOGIN_THROTTLE_DELAY * 2 ** min(beyond, 32), settings.LOGIN_THROTTLE_MAX_DELAY)
    cache.set(_key("until", username=username, address=address), time.time() + delay, timeout=delay + 1)
    return math.ceil(delay)


def login_succeeded(*, username: str, address: str) -> None:
    cache.delete_many([_key(kind, username=username, address=address) for kind in ("fail", "until")])


def throttled_status(response: HttpResponse) -> HttpResponse:
    """429 with Retry-After when the login form in the response was refused by the throttle."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    retry_after = getattr(form, "retry_after", 0)
    if retry_after:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or what trusted proxies in front of us say in X-Forwarded-For.

    X-Forwarded-For is read right to left and only while each hop is in TRUSTED_PROXIES, so a client
    cannot choose its own address by sending the header itself (every hop appends, none removes).
    """
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    while hops and _trusted(address):
        hop = hops.pop()
        if not _is_address(hop):
            break
        address = hop
    return address


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
