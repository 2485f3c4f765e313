"""Fetching a file from a URL an API caller gave (the send-a-file tool), in the web process.

The URL comes from outside and the web process sits inside our network, so the URL goes through
crm.netguard: https only, every address the host resolves to must be public, and the connection goes to
the address that was checked (no SSRF, no DNS rebinding). Redirects are followed a
few times, each checked the same way. The file is read up to a size cap and within one deadline for the
whole fetch, so a slow or endless answer cannot hold a web worker.
"""

from __future__ import annotations

import http.client
import re
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

from crm import netguard
from crm.netguard import is_public

__all__ = ["FetchFailed", "Fetched", "Policy", "Refused", "fetch", "is_public", "safe_name"]

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


class Refused(Exception):
    """We will not fetch that URL (its scheme or address), or not that much."""


class FetchFailed(Exception):
    """The server could not be reached, answered with an error, or took too long."""


@dataclass(frozen=True)
class Policy:
    max_bytes: int
    timeout: float  # seconds for the whole fetch, redirects included
    allow_private: bool = False  # private, loopback, link-local… addresses (an internal file server)
    allow_insecure: bool = False  # plain http:// (tests only)


@dataclass(frozen=True)
class Fetched:
    data: bytes
    name: str  # from the URL's path, "file" when it names none
    mime_type: str  # from Content-Type, "" when the server gave none


def fetch(url: str, *, policy: Policy) -> Fetched:
    """The file at ``url``; raises Refused or FetchFailed with plain words."""
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked(url, policy)
        connection = netguard.pinned_connection(target, timeout=_remaining(deadline))
        try:
            response = _get(connection, target, deadline)
            location = response.getheader("Location")
            if response.status in _REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchFailed(f"The server answered {response.status} {response.reason}")
            data = _body(response, connection, policy, deadline)
            mime_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            return Fetched(data=data, name=_name(target.path), mime_type=mime_type[:255])
        finally:
            connection.close()
    raise FetchFailed(f"More than {MAX_REDIRECTS} redirects")


def _checked(url: str, policy: Policy) -> netguard.Target:
    """The target with its checked address (crm.netguard: no SSRF, no rebinding)."""
    try:
        return netguard.check_url(
            url, allow_private=policy.allow_private, allow_insecure=policy.allow_insecure
        )
    except netguard.Unresolvable as unresolved:
        raise FetchFailed(str(unresolved)) from None
    except netguard.Refused as refused:
        raise Refused(str(refused)) from None


def _get(
    connection: http.client.HTTPConnection, target: netguard.Target, deadline: float
) -> http.client.HTTPResponse:
    try:
        connection.request("GET", target.path, headers={"User-Agent": "Switchboard", "Accept": "*/*"})
        return connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        raise FetchFailed(_why(error, deadline)) from None


def _body(
    response: http.client.HTTPResponse,
    connection: http.client.HTTPConnection,
    policy: Policy,
    deadline: float,
) -> bytes:
    declared = response.getheader("Content-Length") or ""
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise Refused(f"The file is larger than {policy.max_bytes} bytes")
    chunks, size = [], 0
    try:
        while True:
            if connection.sock is not None:
                connection.sock.settimeout(_remaining(deadline))
            chunk = response.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > policy.max_bytes:
                raise Refused(f"The file is larger than {policy.max_bytes} bytes")
            chunks.append(chunk)
    except (OSError, http.client.HTTPException) as error:
        raise FetchFailed(_why(error, deadline)) from None
    if not size:
        raise FetchFailed("The file is empty")
    return b"".join(chunks)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed("The server took too long")
    return left


def _why(error: BaseException, deadline: float) -> str:
    if isinstance(error, TimeoutError) or time.monotonic() >= deadline:
        return "The server took too long"
    if isinstance(error, ssl.SSLError):
        return "The server's TLS certificate or handshake failed"
    return "The server could not be reached"


def _name(path: str) -> str:
    """A file name from the URL's last path segment."""
    return safe_name(unquote(path.split("?")[0].rsplit("/", 1)[-1]))


def safe_name(name: str) -> str:
    """``name`` without separators or control characters, at most 128 characters; "file" if nothing is
    left."""
    return _UNSAFE_NAME.sub("", name).strip(". ")[:128] or "file"
