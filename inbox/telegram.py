"""Telethon stays here: turn Telethon messages and events into inbox.records dataclasses.

Nothing here awaits the network. Event handlers run on the session host's loop between receiving an
update and saving the update state, so they only read what the update itself carried.
"""

from __future__ import annotations

from typing import Any

from telethon import TelegramClient, types, utils

from inbox.records import SERVICE_USER_ID, Deletion, MessageRecord, PeerInfo, ReadMark, UserInfo, masked


def user_info(user: Any) -> UserInfo | None:
    if not isinstance(user, types.User):
        return None
    # A "min" user carries a hash this account cannot use (Telegram sends them in big groups).
    usable_hash = None if getattr(user, "min", False) else user.access_hash
    return UserInfo(
        telegram_id=user.id,
        access_hash=usable_hash,
        username=user.username or "",
        first_name=user.first_name or "",
        last_name=user.last_name or "",
        phone=user.phone or "",
        is_bot=bool(user.bot),
        is_deleted=bool(user.deleted),
    )


def peer_info(peer: Any, entity: Any) -> PeerInfo:
    """The conversation's peer from the message's peer id and, when the update carried it, its entity."""
    peer_id = utils.get_peer_id(peer)
    if isinstance(peer, types.PeerUser):
        user = user_info(entity)
        return PeerInfo(
            peer_id=peer_id,
            kind="private",
            title=user.display_name if user else "",
            username=user.username if user else "",
            user=user,
        )
    kind = "group"
    if isinstance(entity, types.Channel) and entity.broadcast:
        kind = "channel"
    return PeerInfo(
        peer_id=peer_id,
        kind=kind,
        title=getattr(entity, "title", "") or "",
        username=getattr(entity, "username", "") or "",
    )


def _sender_name(sender: Any) -> str:
    if isinstance(sender, types.User):
        info = user_info(sender)
        return info.display_name if info else ""
    return getattr(sender, "title", "") or ""


def _entities(message: Any) -> list[dict[str, Any]]:
    found = []
    for entity in message.entities or []:
        item: dict[str, Any] = {
            "type": type(entity).__name__.removeprefix("MessageEntity").lower(),
            "offset": entity.offset,
            "length": entity.length,
        }
        for extra in ("url", "user_id", "language"):
            value = getattr(entity, extra, None)
            if value:
                item[extra] = value
        found.append(item)
    return found


def media_of(message: Any) -> tuple[str, dict[str, Any]]:
    """The media kind and its metadata; the file itself is fetched only when an operator opens it."""
    media = message.media
    if media is None or isinstance(media, types.MessageMediaEmpty | types.MessageMediaUnsupported):
        return "", {}
    if isinstance(media, types.MessageMediaWebPage):
        page = media.webpage
        return "", (
            {"url": page.url, "title": getattr(page, "title", "") or ""} if hasattr(page, "url") else {}
        )
    if isinstance(media, types.MessageMediaGeo | types.MessageMediaGeoLive | types.MessageMediaVenue):
        geo = media.geo
        return "location", {"lat": getattr(geo, "lat", None), "long": getattr(geo, "long", None)}
    if isinstance(media, types.MessageMediaContact):
        return "contact", {
            "name": f"{media.first_name} {media.last_name}".strip(),
            "phone": media.phone_number,
        }
    if isinstance(media, types.MessageMediaPoll):
        return "poll", {"question": str(getattr(media.poll.question, "text", media.poll.question))}
    kind = "document"
    for attribute, name in (
        ("sticker", "sticker"),
        ("voice", "voice"),
        ("video_note", "video_note"),
        ("gif", "gif"),
        ("video", "video"),
        ("audio", "audio"),
        ("photo", "photo"),
    ):
        if getattr(message, attribute, None):
            kind = name
            break
    file = message.file
    meta: dict[str, Any] = {}
    if file is not None:
        for key in ("name", "mime_type", "size", "width", "height", "duration"):
            value = getattr(file, key, None)
            if value not in (None, ""):
                meta[key] = value
    return kind, meta


def message_record(account_id: int, message: Any) -> MessageRecord | None:
    """A Telethon message (from an event or from history) as a MessageRecord; None for service messages."""
    if not isinstance(message, types.Message) or message.peer_id is None:
        return None
    if utils.get_peer_id(message.peer_id) == SERVICE_USER_ID:
        return _service_notification(account_id, message)
    media_kind, media = media_of(message)
    sender = getattr(message, "sender", None)
    reply_to = message.reply_to
    return MessageRecord(
        account_id=account_id,
        peer=peer_info(message.peer_id, getattr(message, "chat", None)),
        telegram_id=message.id,
        out=bool(message.out),
        date=message.date,
        text=message.message or "",
        sender=user_info(sender),
        sender_name=_sender_name(sender),
        entities=_entities(message),
        media_kind=media_kind,
        media=media,
        reply_to_id=getattr(reply_to, "reply_to_msg_id", None),
        edited_at=message.edit_date if not getattr(message, "edit_hide", False) else None,
    )


def _service_notification(account_id: int, message: Any) -> MessageRecord:
    """A message from Telegram's service account, its codes masked right here: a login code for one of the
    fleet's own accounts never travels further than this conversion (no buffer, log or row holds it)."""
    return MessageRecord(
        account_id=account_id,
        peer=PeerInfo(peer_id=SERVICE_USER_ID, kind="private", title="Telegram"),
        telegram_id=message.id,
        out=bool(message.out),
        date=message.date,
        text=masked(message.message or ""),
    )


def deletion(account_id: int, event: Any) -> Deletion:
    # updateDeleteMessages (private chats) names no chat, so chat_id is None; channels name theirs.
    return Deletion(account_id=account_id, ids=tuple(event.deleted_ids), channel_peer_id=event.chat_id)


def read_mark(account_id: int, event: Any) -> ReadMark | None:
    if event.chat_id is None or not event.max_id:
        return None
    return ReadMark(
        account_id=account_id, peer_id=event.chat_id, max_id=event.max_id, outbox=bool(event.outbox)
    )


async def history(client: TelegramClient, account_id: int, *, dialogs: int, per_dialog: int) -> list[Any]:
    """The dialog list and the last ``per_dialog`` messages of each, for the backfill after onboarding.

    Returns (PeerInfo, unread_count, read_inbox_max_id, read_outbox_max_id, [MessageRecord]) per dialog.
    """
    found = []
    async for dialog in client.iter_dialogs(limit=dialogs):
        raw = dialog.dialog
        peer = peer_info(raw.peer, dialog.entity)
        records = []
        if per_dialog:
            for message in await client.get_messages(dialog.entity, limit=per_dialog):
                record = message_record(account_id, message)
                if record is not None:
                    records.append(record)
        found.append((peer, dialog.unread_count, raw.read_inbox_max_id, raw.read_outbox_max_id, records))
    return found


async def download(
    client: TelegramClient, *, peer: Any, telegram_id: int, max_bytes: int
) -> tuple[bytes, str]:
    """A message's media file and its MIME type; ValueError when it is gone or too big."""
    message = await client.get_messages(peer, ids=telegram_id)
    if message is None or message.media is None:
        raise ValueError("The message or its media no longer exists")
    file = message.file
    if file is not None and file.size and file.size > max_bytes:
        raise ValueError("The file is too big to open here; open it in Telegram")
    data = await client.download_media(message, file=bytes)
    if not data:
        raise ValueError("Telegram returned no file")
    mime = (file.mime_type if file is not None else "") or ("image/jpeg" if message.photo else "")
    return bytes(data), mime or "application/octet-stream"
