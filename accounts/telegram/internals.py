"""Every read of Telethon's private client attributes, in one place.

Checked against Telethon 1.45.0 (``telethon/client/telegrambaseclient.py`` and ``updates.py``). These
names are not Telethon's public API and may change in any release: when upgrading Telethon, read those
files again and adjust only this module. Each function says what Switchboard needs that Telethon does
not offer publicly.

``accounts.telegram.session.VaultSession`` subclasses Telethon's ``MemorySession`` and works with its
underscored fields (``_auth_key``, ``_dc_id``, ``_update_states``, ``_entities_to_rows`` …); that is the
session interface Telethon expects a subclass to fill, checked against the same version.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telethon import TelegramClient


async def save_update_state(client: TelegramClient) -> None:
    """Copy the client's update state (pts/qts/date/seq) into its session now.

    Telethon does this only on disconnect; a checkpoint needs it while connected, so the state can be
    persisted once what it covers is stored (invariant 4).
    """
    await client._save_states_and_entities()


def update_mark(client: TelegramClient) -> tuple[int, tuple[tuple[object, int], ...]]:
    """What the client's update state is now, cheaply: seq and every entry's pts (not the date, which
    moves with every empty getDifference). Equal marks mean no update arrived in between.

    Telethon keeps this in its private message box; copying the state into the session to compare it
    (save_update_state) costs several times more, and a host checkpoints thousands of idle accounts.
    """
    box = client._message_box
    return box.seq, tuple((entry, state.pts) for entry, state in box.map.items())


async def wait_for_event_handlers(client: TelegramClient, *, timeout: float) -> None:
    """Let the event handlers Telethon has already started finish (up to ``timeout`` seconds).

    Telethon runs each handler in a task of its own and exposes no way to wait for them; a checkpoint must
    not persist an update state before the handlers of the updates it covers have buffered them.
    """
    running = [task for task in client._event_handler_tasks if not task.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)


def update_loop_error(client: TelegramClient | None) -> BaseException | None:
    """The error that stopped the client's update loop (e.g. the key was revoked), if any.

    Telethon keeps it to re-raise from ``run_until_disconnected``, which the host does not use; the host
    reads it after a disconnect to apply the account-level recovery flow.
    """
    return getattr(client, "_updates_error", None)


def flood_waits(client: TelegramClient) -> dict[int, float]:
    """When each request (by TL constructor id) last met a FLOOD_WAIT Telethon slept through.

    Telethon sleeps through short flood waits without telling the caller; comparing this before and after
    a request is the only way to count such a wait (the scrape job shows them).
    """
    return dict(getattr(client, "_flood_waited_requests", {}))


def sever(client: TelegramClient) -> bool:
    """Shut the client's TCP connection down at the OS level; safe from any thread. True if it was open.

    The session host's fence calls this from a thread of its own when the host's asyncio loop may be
    stuck: Telethon's disconnect() needs that loop, a shutdown() does not. Telethon (and with it the
    server) then sees the connection end as if the network had cut it. With a proxy, this is the
    socket to the proxy, which closes the connection onward.
    """
    connection = getattr(getattr(client, "_sender", None), "_connection", None)
    writer = getattr(connection, "_writer", None)
    if writer is None:
        return False  # not connected yet, or never
    sock = writer.transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False  # already closed
    return True


_cleaning: set[asyncio.Task[None]] = set()


def stop_keepalive(client: TelegramClient) -> None:
    """Cancel the client's own keepalive task (a ping, an update-state copy and a session save every
    minute): the session host pings all its clients from one task (accounts.host.keepalive).

    Telethon starts ``_keepalive_loop`` in ``connect()`` and cancels it in ``disconnect()``, which accepts
    a task that is already cancelled.
    """
    handle = client._keepalive_handle
    if handle is not None:
        handle.cancel()


def keepalive_ping(client: TelegramClient) -> None:
    """Do what Telethon's keepalive does each minute: close connections to other data centres borrowed
    for a while and idle since (media downloads), and send a ping once the connection is up. A ping from
    the last minute still unanswered means the connection is dead: Telethon's sender then reconnects (or,
    with auto_reconnect off, disconnects), exactly as its own keepalive would."""
    if client._borrowed_senders:
        task = client.loop.create_task(client._clean_exported_senders())
        _cleaning.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_cleaning.discard)
    sender = client._sender
    if not sender._transport_connected():
        return
    with contextlib.suppress(ConnectionError):  # disconnected meanwhile: the host's supervisor sees it
        sender._keepalive_ping(random.randrange(-(2**63), 2**63))
