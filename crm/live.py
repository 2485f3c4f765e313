"""Live updates pushed to open pages: Redis pub/sub channels and the Server-Sent Events stream.

Whatever changes what an open page shows publishes a small event, after its transaction commits:

- ``inbox.live.bump`` (ingestion on a session host, a reply, an assignment…) → the account's channel,
  event ``inbox``;
- ``accounts`` when an account's status or cooldown changes → the fleet channel, event ``fleet``;
- ``accounts`` when an operator is granted or loses an account → that user's channel, which ends their
  open streams: the browser reconnects at once and the new stream subscribes to the accounts the user
  may see now; ``crm.models.User`` does the same when a user's role changes or they are deactivated.

The web process (ASGI, uvicorn) holds one stream per open page: an async generator listening to
exactly the channels its user may see, through the process's one shared Redis subscription (``_Hub``);
events go out as ``event:`` lines that htmx's sse extension turns into DOM events, and the page
re-fetches the same partials the poll uses (they check permissions again, so an event only ever says
"account N changed"). A comment every LIVE_HEARTBEAT seconds keeps proxies from closing an idle
stream; every stream ends after LIVE_STREAM_MAX_AGE seconds so changes of rights this module is not
told about (a bulk update that bypasses ``save``) take effect within that time. A page whose stream is
down polls as before.

Channel names carry CACHE_KEY_PREFIX, so test runs and demos sharing one Redis never hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

log = logging.getLogger(__name__)

RETRY_MS = 2000  # how long a browser waits before reconnecting a stream that ended
STREAM_BACKLOG = 256  # events waiting for one slow page before its stream is ended (it reconnects)


def _prefix() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:live"


def account_channel(account_id: int | str) -> str:
    """The channel of one account's conversations (``"*"`` gives the pattern of every account)."""
    return f"{_prefix()}:account:{account_id}"


def fleet_channel() -> str:
    return f"{_prefix()}:fleet"


def user_channel(user_id: int) -> str:
    """Rights changed: a message here ends the user's open streams."""
    return f"{_prefix()}:user:{user_id}"


def user_notify_channel(user_id: int) -> str:
    """A user's notifications (inbox.notify): every open page of theirs updates its unread count. Not
    the rights channel above, whose messages end streams."""
    return f"{_prefix()}:user:{user_id}:notify"


def subscriber_name() -> str:
    """The name the web process's shared subscriber gives itself in Redis (``CLIENT LIST``)."""
    return f"{_prefix()}:streams"


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def message(event: str, account_id: int | None = None) -> str:
    return json.dumps({"event": event, "account": account_id})


def publish(messages: Iterable[tuple[str, str]], *, pipe: redis.client.Pipeline | None = None) -> None:
    """PUBLISH (channel, message) pairs now; into ``pipe`` when given (its caller executes it)."""
    target = pipe if pipe is not None else _redis().pipeline(transaction=False)
    for channel, body in messages:
        target.publish(channel, body)
    if pipe is None:
        target.execute()


def publish_on_commit(messages: Iterable[tuple[str, str]]) -> None:
    """Publish once the current transaction commits (at once outside one; never on rollback). A lost
    event only delays a page until its next poll or reconnect, so Redis errors are logged, not raised."""
    pending = list(messages)

    def send() -> None:
        try:
            publish(pending)
        except redis.RedisError:
            log.warning("live: could not publish %d events", len(pending), exc_info=True)

    transaction.on_commit(send)


def user_rights_changed(user_ids: Iterable[int]) -> None:
    """End these users' open streams after commit, so they reconnect with the rights they have now."""
    publish_on_commit((user_channel(u), message("rights")) for u in sorted(set(user_ids)))


# --- the stream --------------------------------------------------------------------------------------


def can_stream(request: HttpRequest) -> bool:
    """Whether the server answering this request can hold a stream open (ASGI)."""
    return isinstance(request, ASGIRequest)


def context(request: HttpRequest) -> dict[str, bool]:
    """Template context: pages open their stream only where it can be held (``live_push``); under WSGI
    they poll from the start, instead of opening a stream that is refused (a console error each time)."""
    return {"live_push": can_stream(request)}


def stream_response(
    request: HttpRequest, *, channels: list[str], patterns: list[str], closing: list[str]
) -> HttpResponse | StreamingHttpResponse:
    """A text/event-stream of the events published on ``channels`` and ``patterns``; a message on one
    of ``closing`` ends it.

    Only an ASGI server (uvicorn, the web process) can hold a stream open. Under WSGI (a development
    server) Django would read the endless stream to its end before sending a byte, so the answer there
    is 204, which tells the browser not to reconnect: the page keeps polling."""
    if not can_stream(request):
        return HttpResponse(status=204)
    response = StreamingHttpResponse(
        _events(channels=channels, patterns=patterns, closing=closing), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a buffering reverse proxy would hold events back
    return response


async def _events(*, channels: list[str], patterns: list[str], closing: list[str]) -> AsyncIterator[bytes]:
    # A stream lives for minutes, and the database connection its request opened (the session, the
    # user, the visible accounts) would stay open as long: one per open page, until PostgreSQL runs
    # out. Close it (in the request's own thread, where it lives) before waiting; nothing below uses it.
    await sync_to_async(connections.close_all)()
    hub = _Hub.of_this_loop()
    inbox = _Inbox(closing=frozenset(closing))
    loop = asyncio.get_running_loop()
    try:
        await hub.join(inbox, channels=[*channels, *closing], patterns=patterns)
        yield f"retry: {RETRY_MS}\n: live\n\n".encode()
        heartbeat = settings.LIVE_HEARTBEAT
        ends = loop.time() + settings.LIVE_STREAM_MAX_AGE
        while (left := ends - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(inbox.queue.get(), timeout=min(heartbeat, left))
            except TimeoutError:
                if loop.time() < ends:
                    yield b": heartbeat\n\n"
                continue
            if data is None:  # closed: rights changed, the subscription was lost, or the page fell behind
                return
            yield _sse(data)
    finally:
        # Runs on every way out, the client's disconnect (a cancellation) included: no subscription
        # outlives its last stream.
        await hub.leave(inbox)


class _Inbox:
    """One open stream's side of the hub: what it listens to, and its queue of event bodies (``None``
    ends the stream)."""

    def __init__(self, *, closing: frozenset[str]) -> None:
        self.closing = closing
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=STREAM_BACKLOG)
        self.channels: list[str] = []
        self.patterns: list[str] = []

    def deliver(self, channel: str, data: bytes) -> None:
        if channel in self.closing:
            self.close()
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            # A page this far behind re-fetches everything anyway: end its stream, it reconnects.
            self.close()

    def close(self) -> None:
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()


class _Hub:
    """The web process's one Redis subscription, shared by every open stream on its event loop.

    A channel or pattern is subscribed while at least one stream listens to it, and released with its
    last listener, so Redis holds one connection per web process however many pages are open. If the
    connection is lost (Redis restarted), every stream ends: browsers reconnect after ``retry`` and
    poll meanwhile, and the next stream subscribes afresh."""

    _hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()

    @classmethod
    def of_this_loop(cls) -> _Hub:
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None:
            hub = cls._hubs[loop] = cls()
        return hub

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.client: aioredis.Redis | None = None
        self.pubsub: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.by_channel: dict[str, set[_Inbox]] = {}
        self.by_pattern: dict[str, set[_Inbox]] = {}

    async def join(self, inbox: _Inbox, *, channels: list[str], patterns: list[str]) -> None:
        async with self.lock:
            if self.pubsub is None:
                self.client = aioredis.Redis.from_url(settings.REDIS_URL, client_name=subscriber_name())
                self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            inbox.channels, inbox.patterns = channels, patterns
            new_channels = _add(self.by_channel, channels, inbox)
            new_patterns = _add(self.by_pattern, patterns, inbox)
            try:
                if new_channels:
                    await self.pubsub.subscribe(*new_channels)
                if new_patterns:
                    await self.pubsub.psubscribe(*new_patterns)
            except (redis.RedisError, OSError):
                await self._lost()
                raise
            if self.reader is None or self.reader.done():
                self.reader = asyncio.create_task(self._read())

    async def leave(self, inbox: _Inbox) -> None:
        async with self.lock:
            gone_channels = _remove(self.by_channel, inbox.channels, inbox)
            gone_patterns = _remove(self.by_pattern, inbox.patterns, inbox)
            if self.pubsub is None:
                return
            try:
                if gone_channels:
                    await self.pubsub.unsubscribe(*gone_channels)
                if gone_patterns:
                    await self.pubsub.punsubscribe(*gone_patterns)
            except (redis.RedisError, OSError):
                await self._lost()

    async def _read(self) -> None:
        try:
            while self.by_channel or self.by_pattern:
                got = await self.pubsub.get_message(timeout=1.0)
                if got is None:
                    continue
                channel = got["channel"].decode()
                if got["type"] == "pmessage":
                    listeners = self.by_pattern.get(got["pattern"].decode(), ())
                else:
                    listeners = self.by_channel.get(channel, ())
                for inbox in list(listeners):
                    inbox.deliver(channel, got["data"])
        except (redis.RedisError, OSError):
            log.warning("live: the subscription to Redis was lost; open streams end", exc_info=True)
            async with self.lock:
                await self._lost()

    async def _lost(self) -> None:
        """End every stream and forget the connection (the lock is held)."""
        for listeners in (*self.by_channel.values(), *self.by_pattern.values()):
            for inbox in listeners:
                inbox.close()
        self.by_channel.clear()
        self.by_pattern.clear()
        pubsub, client, self.pubsub, self.client = self.pubsub, self.client, None, None
        for closable in (pubsub, client):
            if closable is not None:
                with contextlib.suppress(redis.RedisError, OSError):
                    await closable.aclose()


def _add(routes: dict[str, set[_Inbox]], names: list[str], inbox: _Inbox) -> list[str]:
    """Route ``names`` to ``inbox``; returns those nobody listened to before."""
    new = [name for name in dict.fromkeys(names) if name not in routes]
    for name in names:
        routes.setdefault(name, set()).add(inbox)
    return new


def _remove(routes: dict[str, set[_Inbox]], names: list[str], inbox: _Inbox) -> list[str]:
    """Unroute ``names`` from ``inbox``; returns those nobody listens to any more."""
    gone = []
    for name in dict.fromkeys(names):
        listeners = routes.get(name)
        if listeners is None:
            continue
        listeners.discard(inbox)
        if not listeners:
            del routes[name]
            gone.append(name)
    return gone


def _sse(data: bytes) -> bytes:
    try:
        body = json.loads(data)
        event, account = body["event"], body.get("account")
    except (ValueError, KeyError, TypeError):
        return b": unreadable event\n\n"
    # Only what a page needs: a plain event name and an account id (never text that could break a line).
    if not (isinstance(event, str) and event.isidentifier() and event.isascii()):
        return b": unreadable event\n\n"
    if account is not None and (not isinstance(account, int) or isinstance(account, bool)):
        return b": unreadable event\n\n"
    return f"event: {event}\ndata: {'' if account is None else account}\n\n".encode()
