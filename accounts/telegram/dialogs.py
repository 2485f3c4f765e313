"""The account's dialog list: its chats with Telegram's read state and, for the backfill, their newest
messages."""

from __future__ import annotations

from telethon import TelegramClient

from accounts.telegram import peers
from accounts.telegram.messages import message_record
from accounts.telegram.records import Dialog, MessageRecord


async def get_dialogs(
    client: TelegramClient, *, account_id: int, limit: int, per_dialog: int = 0, folder: int | None = None
) -> list[Dialog]:
    """The newest ``limit`` dialogs, each with its last ``per_dialog`` messages (none by default): of one
    peer folder when ``folder`` is given (0 the main list, 1 the archive), else of both."""
    found = []
    async for dialog in client.iter_dialogs(limit=limit, folder=folder):
        raw = dialog.dialog
        records: list[MessageRecord] = []
        if per_dialog:
            for message in await client.get_messages(dialog.entity, limit=per_dialog):
                record = message_record(account_id, message)
                if record is not None:
                    records.append(record)
        found.append(
            Dialog(
                peer=peers.peer_info(raw.peer, dialog.entity),
                unread_count=dialog.unread_count,
                read_inbox_max_id=raw.read_inbox_max_id,
                read_outbox_max_id=raw.read_outbox_max_id,
                top_message_id=dialog.message.id if dialog.message else 0,
                messages=records,
                archived=raw.folder_id == 1,
            )
        )
    return found
