"""Where Switchboard may connect when a URL comes from outside (an API caller's file, a webhook endpoint).

The web process and the workers sit inside our network: a URL followed naively could reach an internal
service or a cloud metadata endpoint (SSRF). So a host name is resolved once, every address it resolves
to must be public (unless the caller's setting allows private ones, for tests and local development),
and the connection goes to the address that was checked, so a second DNS answer cannot swap in another
(no rebinding).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


class Refused(Exception):
    """We will not connect there: the URL's scheme, form or address is not allowed."""


class Unresolvable(Exception):
    """The URL's host name does not resolve."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to say to it (host, path)."""

    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str


def check_url(url: str, *, allow_private: bool) -> Target:
    """The checked target of ``url``; raises Refused or Unresolvable with plain words.

    Only https:// is allowed, plus plain http:// when ``allow_private`` (tests, local development: the
    same setting that lets loopback through)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise Refused("Only https:// URLs are allowed")
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError:
        raise Refused("The URL's port is not valid") from None
    if not hostname or parts.username or parts.password:
        raise Refused("The URL needs a host and no user name or password")
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address = resolve(hostname, port, allow_private=allow_private)
    return Target(scheme=scheme, host=hostname, port=port, path=path, address=address)


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to. Every address the name resolves to must be public, so a name that
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
