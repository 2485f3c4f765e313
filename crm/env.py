"""Strict readers for settings that come from the environment.

A malformed value stops the process at start-up with the variable's name, instead of surfacing later as
a confusing error somewhere else. Secrets have no defaults outside DEBUG.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import unquote, urlsplit


class ConfigError(RuntimeError):
    pass


def string(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} must be set")
        return default
    return value


def boolean(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def integer(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None


def listing(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def networks(name: str, default: str = "") -> list[str]:
    """Comma-separated IP addresses and CIDR blocks (10.0.0.0/8, ::1)."""
    entries = listing(name, default)
    for entry in entries:
        try:
            ipaddress.ip_network(entry)
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or CIDR blocks, not {entry!r}") from None
    return entries


def database(name: str, default: str) -> dict[str, object]:
    """Django DATABASES entry from a postgresql:// URL (psycopg 3 underneath)."""
    url = urlsplit(string(name, default))
    if url.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(f"{name} must be a postgresql:// URL")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(url.path.lstrip("/")) or "switchboard",
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
        **_connections(),
    }


def _connections() -> dict[str, object]:
    """Persistent connections, or a bounded pool where DATABASE_POOL_MAX is set (the web process, see
    crm/asgi.py): there, many requests at once (pages reconnecting their streams after a restart) wait
    up to DATABASE_POOL_TIMEOUT seconds for one of its connections instead of exhausting PostgreSQL.
    Django checks each connection as it leaves the pool, so a restarted PostgreSQL costs no error."""
    size = integer("DATABASE_POOL_MAX", 0)
    if size <= 0:
        return {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    pool = {
        "min_size": min(2, size),
        "max_size": size,
        "timeout": number("DATABASE_POOL_TIMEOUT", 10.0),
    }
    return {"CONN_MAX_AGE": 0, "OPTIONS": {"pool": pool}}
