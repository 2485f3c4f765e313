"""Live updates pushed to open pages: Redis pub/sub channels and the Server-Sent Events stream.

Whatever changes what an open page shows publishes a small event, after its transaction commits:

- ``inbox.live.bump`` (ingestion on a session host, a reply, an assignment…) → the account's channel,
  event ``inbox``;
- ``accounts`` when an account's status or cooldown changes → the fleet channel, event ``fleet``;
- ``accounts`` when an operator is granted or loses an account → that user's channel, which ends their
  open streams: the browser reconnects at once and the new stream subscribes to the accounts the user
  may see now.

The web process (ASGI, uvicorn) holds one stream per open page: an async generator subscribed (one
Redis connection each) to exactly the channels its user may see; events go out as ``event:`` lines
that htmx's sse extension turns into DOM events, and the page re-fetches the same partials the poll
uses (they check permissions again, so an event only ever says "account N changed"). A comment every
LIVE_HEARTBEAT seconds keeps proxies from closing an idle stream; every stream ends after LIVE_STREAM_MAX_AGE
seconds so changes of rights this module is not told about (a role changed in the admin site, a
deactivated user) take effect within that time. A page whose stream is down polls as before.

Channel names carry CACHE_KEY_PREFIX, so test runs and demos sharing one Redis never hear each other.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Iterable

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

log = logging.getLogger(__name__)

RETRY_MS = 2000  # how long a browser waits before reconnecting a stream that ended


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
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    loop = asyncio.get_running_loop()
    try:
        if channels or closing:
            await pubsub.subscribe(*channels, *closing)
        if patterns:
            await pubsub.psubscribe(*patterns)
        yield f"retry: {RETRY_MS}\n: live\n\n".encode()
        heartbeat = settings.LIVE_HEARTBEAT
        ends = loop.time() + settings.LIVE_STREAM_MAX_AGE
        quiet_since = loop.time()
        while (left := ends - loop.time()) > 0:
            got = await pubsub.get_message(timeout=min(heartbeat, left))
            if got is None:
                if loop.time() - quiet_since >= heartbeat:
                    quiet_since = loop.time()
                    yield b": heartbeat\n\n"
                continue
            if got["channel"].decode() in closing:
                return
            quiet_since = loop.time()
            yield _sse(got["data"])
    finally:
        # Runs on every way out, the client's disconnect (a cancellation) included: no subscription
        # outlives its stream.
        await pubsub.aclose()
        await client.aclose()


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
