"""Outbound HTTP to a URL someone else gave us (a file to send, an agent hook, a webhook endpoint).

Our processes sit inside our network: a URL followed naively could read an internal service or a cloud
metadata endpoint (SSRF). So only https:// is allowed; the host name is resolved once, every address it
resolves to must be public, and the connection goes to the address that was checked (a second DNS
answer cannot swap in another: no rebinding). ``allow_private`` lets private, loopback and link-local
targets through (tests, local development, an internal server an admin chose); ``allow_insecure`` lets
plain http:// through (tests and local development only).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass, replace
from urllib.parse import urlsplit


class Refused(ValueError):
    """We will not connect to that URL; the message says why in plain words."""


class Unresolvable(Refused):
    """The URL's host name does not resolve (now): a temporary failure for a fetch, a bad URL for a form."""


@dataclass(frozen=True)
class Target:
    """A URL split into what a connection needs; ``address`` is set once the host was checked."""

    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str = ""


def check_url(url: str, *, allow_private: bool, allow_insecure: bool | None = None) -> Target:
    """The checked target of ``url`` (its ``address`` the one to connect to); raises Refused (a
    ValueError; Unresolvable for a name that does not resolve) with a plain reason.

    Plain http:// is allowed when ``allow_insecure``, which follows ``allow_private`` unless given (tests
    and local development run hooks on loopback without TLS)."""
    insecure = allow_private if allow_insecure is None else allow_insecure
    parsed = target(url, allow_insecure=insecure)
    return replace(parsed, address=resolve(parsed.host, parsed.port, allow_private=allow_private))


def target(url: str, *, allow_insecure: bool = False) -> Target:
    """``url`` split, not resolved yet; Refused for another scheme, no host, or credentials."""
    if "\x00" in url:
        raise Refused("The URL contains a NUL character")
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme.lower() not in schemes:
        raise Refused("Only https:// URLs are allowed")
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError:
        raise Refused("The URL's port is not valid") from None
    if not hostname or parts.username or parts.password:
        raise Refused("The URL needs a host and no user name or password")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme.lower(), host=hostname, port=port, path=path)


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to; every address the name resolves to must be public, so a name that
    answers with one public and one internal address is refused rather than raced."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unresolvable(f"The host {host} could not be resolved") from None
    addresses = [str(info[4][0]).split("%")[0] for info in found]
    if not addresses:
        raise Unresolvable(f"The host {host} could not be resolved")
    if not allow_private:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address)):
                raise Refused(f"The URL's host resolves to a non-public address ({address})")
    return addresses[0]


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Reachable on the public internet: not private, loopback, link-local, multicast, reserved or
    unspecified, and no such IPv4 address hidden inside an IPv6 one (mapped, 6to4, Teredo)."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        teredo = address.teredo or ()
        embedded = [address.ipv4_mapped, address.sixtofour, *teredo]
        return all(is_public(inner) for inner in embedded if inner is not None)
    return True


def pinned_connection(target: Target, *, timeout: float) -> http.client.HTTPConnection:
    """A connection to the checked ``target.address`` that speaks to ``target.host``: its Host header,
    and for https the certificate checked against the name (SNI)."""
    if not target.address:
        raise ValueError("check the URL first: the target has no checked address")
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def pinned(
        host_port: tuple[str, int], timeout: float, source: tuple[str, int] | None = None
    ) -> socket.socket:
        return socket.create_connection((target.address, target.port), timeout, source)

    connection._create_connection = pinned  # type: ignore[attr-defined]  # http.client's own seam for this
    return connection
