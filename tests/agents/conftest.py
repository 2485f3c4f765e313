"""A real agent hook for the tests: an HTTP server on 127.0.0.1 that records each request and answers as
the test says. It verifies every request's Standard Webhooks signature itself, with the package."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool  # the signature checked out with the hook's current secret

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class HookServer:
    url: str = ""
    secret: str = ""  # set by the test once the hook exists
    received: list[Received] = field(default_factory=list)
    # request payload -> (status, body bytes, seconds to wait first)
    answer: Callable[[dict[str, Any]], tuple[int, bytes, float]] = lambda payload: (204, b"", 0.0)

    def reply(self, text: str, **extra: Any) -> None:
        self.answer = lambda payload: (200, json.dumps({"text": text, **extra}).encode(), 0.0)

    def replying(self, make: Callable[[dict[str, Any]], str]) -> None:
        self.answer = lambda payload: (200, json.dumps({"text": make(payload)}).encode(), 0.0)

    def raw(self, status: int, body: bytes = b"", delay: float = 0.0) -> None:
        self.answer = lambda payload: (status, body, delay)

    def wait_for_calls(self, count: int, *, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} calls, expected {count}"
        return self.received


def serve(hook: HookServer) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                Webhook(hook.secret).verify(body, headers)
                verified = True
            except (WebhookVerificationError, EmptyWebhookSecretError, ValueError):
                verified = False
            hook.received.append(Received(headers=headers, body=body, verified=verified))
            status, answer, delay = hook.answer(json.loads(body))
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up (its timeout)

        def log_message(self, *args: Any) -> None:
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def hook_server(settings):
    """A running hook; the settings let the agent hook reach loopback over plain http."""
    settings.AGENT_HOOK_ALLOW_PRIVATE = True
    settings.AGENT_HOOK_ALLOW_INSECURE = True
    hook = HookServer()
    server = serve(hook)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_stack(host_env, tmp_path):
    """``with hook_stack():`` a session host and a general worker on this test's own default queue; the
    worker may call the loopback hook over http. Yields the queue."""
    import uuid
    from contextlib import contextmanager

    from tests.support.processes import celery_worker, session_host

    queue = f"test-agents-{uuid.uuid4().hex[:10]}"
    env = {
        **host_env,
        "CELERY_DEFAULT_QUEUE": queue,
        "AGENT_HOOK_ALLOW_PRIVATE": "1",
        "AGENT_HOOK_ALLOW_INSECURE": "1",
    }

    @contextmanager
    def run():
        with (
            session_host("a", log_path=tmp_path / "host.log", env=env),
            celery_worker(queue=queue, log_path=tmp_path / "worker.log", **env),
        ):
            yield queue

    return run
