"""Read a live stream (crm.live) the way a browser does: one HTTP request, then event lines."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import redis
from django.conf import settings

from crm import live


@dataclass
class Event:
    name: str
    data: str


@dataclass
class EventStream:
    """GET ``path`` on the web process with the session cookie; ``next_event`` reads what follows.
    A plain socket: the stream is read with timeouts, which http.client's file objects do not survive."""

    base_url: str
    path: str
    session: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    retry: str = ""
    closed: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10)
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: sessionid={self.session}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.raw = b""
        while b"\r\n\r\n" not in self.raw:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.raw += chunk
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        self.text = b""  # the body, de-chunked

    def _fill(self, timeout: float) -> bool:
        """Read more of the body within ``timeout``; False when nothing came (or the stream ended)."""
        readable, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not readable:
            return False
        chunk = self.sock.recv(65536)
        if not chunk:
            self.closed = True
            return False
        self.raw += chunk
        while True:  # chunked transfer encoding: <hex size>\r\n<data>\r\n … 0\r\n\r\n
            size_line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                break
            size = int(size_line, 16)
            if size == 0:
                self.closed = True
                break
            if len(rest) < size + 2:
                break
            self.text += rest[:size]
            self.raw = rest[size + 2 :]
        return True

    def next_event(self, *, timeout: float) -> Event | None:
        """The next event, or None when none came within ``timeout`` seconds; sets ``closed`` when the
        server ended the stream."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" in self.text:
                block, _, self.text = self.text.partition(b"\n\n")
                event = self._parse(block.decode())
                if event is not None:
                    return event
            if self.closed or time.monotonic() >= deadline:
                return None
            self._fill(deadline - time.monotonic())

    def _parse(self, block: str) -> Event | None:
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line.startswith("retry:"):
                self.retry = line[6:].strip()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        return Event(name, "\n".join(data)) if data else None

    def events_until_quiet(self, *, quiet: float = 1.0) -> list[Event]:
        events = []
        while (event := self.next_event(timeout=quiet)) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self.sock.close()


def subscribers(channel: str) -> int:
    """How many subscriptions Redis holds on ``channel`` (every open stream that listens to it)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])
    finally:
        client.close()


def patterns_subscribed() -> int:
    """How many patterns this process's shared subscription holds (an admin's stream hears every account
    through one, subscribed just after its channels)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        found = client.client_list(_type="pubsub")
        return sum(int(c["psub"]) for c in found if c["name"] == live.subscriber_name())
    finally:
        client.close()
