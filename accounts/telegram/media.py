"""Media: what a received message carries (kind and metadata), uploading a file to send, and
downloading one when an operator opens it."""

from __future__ import annotations

import os
from typing import Any

from telethon import TelegramClient, types

from accounts.telegram import peers

_PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


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


async def upload(client: TelegramClient, *, path: str) -> types.TypeInputMedia:
    """Upload the file at ``path`` as a photo (by its extension) or a document, ready for sendMedia."""
    return _input_media(await client.upload_file(path), name=os.path.basename(path), mime_type="")


async def download(
    client: TelegramClient, *, peer: peers.Peer, telegram_id: int, max_bytes: int
) -> tuple[bytes, str]:
    """A message's media file and its MIME type; ValueError when it is gone or too big."""
    message = await client.get_messages(await peers.resolve(client, peer), ids=telegram_id)
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


async def upload_bytes(
    client: TelegramClient, *, data: bytes, name: str, mime_type: str
) -> types.TypeInputMedia:
    """Upload ``data`` as the file ``name``: a photo (by its extension) or a document of ``mime_type``."""
    return _input_media(await client.upload_file(data, file_name=name), name=name, mime_type=mime_type)


def _input_media(uploaded: types.TypeInputFile, *, name: str, mime_type: str) -> types.TypeInputMedia:
    if os.path.splitext(name)[1].lower() in _PHOTO_EXTENSIONS:
        return types.InputMediaUploadedPhoto(file=uploaded)
    return types.InputMediaUploadedDocument(
        file=uploaded,
        mime_type=mime_type or "application/octet-stream",
        attributes=[types.DocumentAttributeFilename(name)],
    )
