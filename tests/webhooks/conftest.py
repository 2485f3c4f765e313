"""A real HTTP receiver for webhooks, scripted answer by answer, and endpoints pointing at it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import services


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (then ``default``), after ``delay`` seconds."""

    url: str
    requests: list[Request] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request) -> int:
        with self.lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else self.default

    def ids(self) -> list[str]:
        with self.lock:
            return [r.id for r in self.requests]

    def wait_for(self, count: int, *, timeout: float = 30) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.requests)} requests, not {count}, in {timeout}s")


@pytest.fixture
def receiver():
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hook = state["receiver"]
            status = hook.answer(Request(headers={k.lower(): v for k, v in self.headers.items()}, body=body))
            if hook.delay:
                time.sleep(hook.delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks/switchboard")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _one_send_at_a_time(settings):
    """In-process sweeps send from this thread only: other threads' connections cannot see the data of a
    test that runs inside a transaction. Tests with committed data turn the threads back on."""
    settings.WEBHOOK_SEND_THREADS = 1


@pytest.fixture
def private_allowed(settings):
    """The receiver is on loopback: allowed only through WEBHOOK_ALLOW_PRIVATE, as in local development."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 3.0


@pytest.fixture
def endpoint(db, receiver, private_allowed, admin_user):
    """An endpoint for every event, and its secret."""
    return services.endpoint_create(url=receiver.url, description="CRM sync", by=admin_user)
