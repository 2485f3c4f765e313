"""Updates as they arrive: Telethon event handlers that turn each update into a record for the caller.

The handlers only convert and call back (no awaits, no network): they run on the session host's loop
between receiving an update and saving the update state, so they must keep up with any update rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telethon import TelegramClient, events

from accounts.telegram.messages import message_record
from accounts.telegram.records import Deletion, MessageRecord, ReadMark


def subscribe(
    client: TelegramClient,
    *,
    account_id: int,
    on_message: Callable[[MessageRecord], None],
    on_deletion: Callable[[Deletion], None],
    on_read: Callable[[ReadMark], None],
) -> None:
    """Call back with every new or edited message, deletion and read mark the client receives."""

    async def message(event: Any) -> None:
        record = message_record(account_id, event.message)
        if record is not None:
            on_message(record)

    async def deleted(event: Any) -> None:
        on_deletion(deletion(account_id, event))

    async def read(event: Any) -> None:
        mark = read_mark(account_id, event)
        if mark is not None:
            on_read(mark)

    client.add_event_handler(message, events.NewMessage())
    client.add_event_handler(message, events.MessageEdited())
    client.add_event_handler(deleted, events.MessageDeleted())
    client.add_event_handler(read, events.MessageRead(inbox=False))
    client.add_event_handler(read, events.MessageRead(inbox=True))


def deletion(account_id: int, event: Any) -> Deletion:
    # updateDeleteMessages (private chats) names no chat, so chat_id is None; channels name theirs.
    return Deletion(account_id=account_id, ids=tuple(event.deleted_ids), channel_peer_id=event.chat_id)


def read_mark(account_id: int, event: Any) -> ReadMark | None:
    if event.chat_id is None or not event.max_id:
        return None
    return ReadMark(
        account_id=account_id, peer_id=event.chat_id, max_id=event.max_id, outbox=bool(event.outbox)
    )


async def learn_channels(client: TelegramClient) -> None:
    """Give the client's update state an entry for every channel and supergroup the account is in.

    Telethon catches a channel up (getChannelDifference) only from a pts it knows: when getDifference
    reports news in a channel it has no state for (updateChannelTooLong), it skips it, and what was posted
    there while the account was offline is never fetched; the next live message only starts the state
    afresh. A new session knows no channel; the dialogs carry each one's pts, which Telethon records
    while listing them.
    """
    async for _dialog in client.iter_dialogs():
        pass
