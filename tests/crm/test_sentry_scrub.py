from __future__ import annotations

import gzip
import http.server
import threading
import zlib

import pytest
import sentry_sdk

from crm.sentry import init_sentry

# Shaped like a Telethon StringSession: "1" + urlsafe base64 of DC, address, port and a 256-byte key.
FAKE_SESSION = "1" + "BVDMFGGQRkUx_a9-" * 22
FAKE_AUTH_KEY_HEX = "ab12" * 128
# Built at run time: Sentry also sends source lines around each frame, and real secrets never sit in
# source, so the literals must not either.
FAKE_PASSWORD = "".join(["hunter2", "-2fa"])
FAKE_API_HASH = "0123456789abcdef" * 2


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):
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

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_listener():
    _Collector.bodies = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Collector.bodies
    server.shutdown()
    sentry_sdk.init(dsn=None)


def _fail_with_secrets(session_string: str, password: str, api_hash: str) -> None:
    auth_key = FAKE_AUTH_KEY_HEX  # noqa: F841 - a local Sentry would capture
    raise RuntimeError(f"could not load session {session_string}")


def test_sentry_events_carry_no_session_string_key_or_password(sentry_listener):
    server, bodies = sentry_listener
    init_sentry(f"http://publickey@127.0.0.1:{server.server_port}/1", environment="test")
    try:
        _fail_with_secrets(FAKE_SESSION, password=FAKE_PASSWORD, api_hash=FAKE_API_HASH)
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=5)

    assert bodies, "no event reached the listener"
    envelope = b"".join(bodies).decode("utf-8", "replace")
    assert "RuntimeError" in envelope and "_fail_with_secrets" in envelope  # the event really arrived
    assert FAKE_SESSION not in envelope
    assert FAKE_SESSION[:60] not in envelope
    assert FAKE_AUTH_KEY_HEX[:40] not in envelope
    assert FAKE_PASSWORD not in envelope
    assert FAKE_API_HASH not in envelope
