"""A local Sentry collector, and a search for a secret in what it received, in every encoding we know of."""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sentry_sdk


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding == "br":
            import brotli

            raw = brotli.decompress(raw)
        self.bodies.append(raw)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def sentry_collector() -> Iterator[tuple[str, list[bytes]]]:
    """An HTTP server taking Sentry envelopes on 127.0.0.1; yields (dsn, bodies received so far)."""
    bodies: list[bytes] = []
    handler = type("Collector", (_Collector,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/1", bodies
    finally:
        server.shutdown()
        server.server_close()


def arrived(bodies: list[bytes], *marks: str) -> str:
    """Flush Sentry, check an event with every mark reached the collector, and return what arrived."""
    sentry_sdk.flush(timeout=10)
    envelope = b"".join(bodies).decode("utf-8", "replace")
    assert bodies and all(mark in envelope for mark in marks), f"no event with {marks} reached the collector"
    return envelope


def envelope_texts(bodies: list[bytes]) -> list[str]:
    """Each body as text, plus every string inside its JSON lines decoded (so escapes are undone)."""
    texts = [body.decode("utf-8", "replace") for body in bodies]
    strings: list[str] = []
    for body in bodies:
        for line in body.splitlines():
            try:
                _strings(json.loads(line), strings)
            except ValueError:
                continue
    return [*texts, "\n".join(strings)]


def _strings(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            into.append(str(key))
            _strings(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)


def encodings(secret: bytes | str) -> dict[str, str]:
    """How a secret can show up in text: plain, hex, base64 (both alphabets, any alignment, padded or
    not), and as Python's bytes repr. Long secrets are cut into overlapping 12-byte windows first, so
    a truncated or partly redacted copy is found too."""
    raw = secret.encode() if isinstance(secret, str) else secret
    windows = [raw] if len(raw) <= 16 else [raw[i : i + 12] for i in range(0, len(raw) - 11, 6)]
    found: dict[str, str] = {}
    if isinstance(secret, str):
        found["plain"] = secret
    for n, window in enumerate(windows):
        found[f"hex[{n}]"] = window.hex()
        found[f"HEX[{n}]"] = window.hex().upper()
        found[f"repr[{n}]"] = repr(window)[2:-1]
        found[f"latin-1[{n}]"] = window.decode("latin-1")
        for offset in range(3):
            # Base64 of the window as it would sit at any position inside a longer encoded run: only
            # the characters made from the window's bits alone.
            encoded = base64.b64encode(bytes(offset) + window).decode()
            inner = encoded[-(-8 * offset // 6) : (8 * (offset + len(window))) // 6]
            found[f"base64+{offset}[{n}]"] = inner
            found[f"urlsafe+{offset}[{n}]"] = inner.replace("+", "-").replace("/", "_")
    return {name: text for name, text in found.items() if len(text) >= 4}


def leaks(bodies: list[bytes], secret: bytes | str) -> list[str]:
    """The encodings of ``secret`` found in what the collector received (empty when none)."""
    texts = envelope_texts(bodies)
    raw_bodies = b"\n".join(bodies)
    raw = secret.encode() if isinstance(secret, str) else secret
    found = [name for name, text in encodings(secret).items() if any(text in t for t in texts)]
    if raw in raw_bodies:
        found.append("raw bytes")
    return found
