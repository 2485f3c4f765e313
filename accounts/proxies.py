"""Proxy URLs as the Telegram client takes them. Plain parsing, so the web process can validate a proxy
without importing Telethon."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def parse_proxy(url: str) -> dict[str, object] | None:
    """socks5://user:pass@host:port (or socks4, http) as Telethon's proxy dict."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"socks5", "socks4", "http"} or not parts.hostname or not parts.port:
        raise ValueError("proxy must look like socks5://user:pass@host:1080")
    return {
        "proxy_type": parts.scheme,
        "addr": parts.hostname,
        "port": parts.port,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "rdns": True,
    }
