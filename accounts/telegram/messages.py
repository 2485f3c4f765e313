"""Sending messages (with a random_id chosen and stored by us) and turning Telethon messages into
MessageRecords."""

from __future__ import annotations

from typing import Any

from telethon import TelegramClient, functions, types, utils
from telethon.extensions import html, markdown

from accounts.telegram import media, peers
from accounts.telegram.records import SERVICE_USER_ID, MessageRecord, PeerInfo, Sent, masked


async def send_message(
    client: TelegramClient,
    *,
    peer: peers.Peer,
    text: str,
    random_id: int,
    reply_to: int | None = None,
    media_path: str = "",
    parse_mode: str | None = None,
    silent: bool = False,
    link_preview: bool = True,
) -> Sent:
    """Send ``text`` (with the file at ``media_path`` as its media, if given) with the caller's
    ``random_id``: a retry with the same id is deduplicated by Telegram. ``parse_mode`` "md" or "html"
    turns markup into Telegram's entities."""
    entity = await peers.resolve(client, peer)
    reply = types.InputReplyToMessage(reply_to) if reply_to else None
    text, entities = _markup(text, parse_mode)
    request: Any
    if media_path:
        request = functions.messages.SendMediaRequest(
            peer=entity,
            media=await media.upload(client, path=media_path),
            message=text,
            random_id=random_id,
            reply_to=reply,
            entities=entities,
            silent=silent or None,
        )
    else:
        request = functions.messages.SendMessageRequest(
            peer=entity,
            message=text,
            random_id=random_id,
            reply_to=reply,
            entities=entities,
            silent=silent or None,
            no_webpage=not link_preview or None,
        )
    return _sent(await client(request), random_id)


def _markup(text: str, parse_mode: str | None) -> tuple[str, Any]:
    """Markdown ("md") or HTML markup as Telegram's plain text and entities; no markup without a mode."""
    if not parse_mode:
        return text, None
    return (markdown if parse_mode == "md" else html).parse(text)


def _sent(result: Any, random_id: int) -> Sent:
    """The id Telegram gave the message we sent, from whichever shape of answer it chose."""
    if isinstance(result, types.UpdateShortSentMessage):
        return Sent(result.id, result.date)
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateMessageID) and update.random_id == random_id:
            return Sent(update.id, None)
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateNewMessage | types.UpdateNewChannelMessage):
            return Sent(update.message.id, update.message.date)
    raise RuntimeError("Telegram's answer carried no id for the message sent")


def message_record(account_id: int, message: Any) -> MessageRecord | None:
    """A Telethon message (from an event or from history) as a MessageRecord; None for service messages.

    Nothing here awaits the network: event handlers run on the session host's loop between receiving an
    update and saving the update state, so they only read what the update itself carried.
    """
    if not isinstance(message, types.Message) or message.peer_id is None:
        return None
    if utils.get_peer_id(message.peer_id) == SERVICE_USER_ID:
        return _service_notification(account_id, message)
    media_kind, meta = media.media_of(message)
    sender = getattr(message, "sender", None)
    reply_to = message.reply_to
    return MessageRecord(
        account_id=account_id,
        peer=peers.peer_info(message.peer_id, getattr(message, "chat", None)),
        telegram_id=message.id,
        out=bool(message.out),
        date=message.date,
        text=message.message or "",
        sender=peers.user_info(sender),
        sender_name=peers.sender_name(sender),
        entities=_entities(message),
        media_kind=media_kind,
        media=meta,
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


async def read_channel(client: TelegramClient, *, target: str) -> int:
    """Open a public channel and mark it read, like a person scrolling through it. Returns messages seen."""
    entity = await peers.resolve(client, target)
    latest = await _latest(client, entity, limit=20)
    top = max((m.id for m in latest), default=0)
    if top and isinstance(entity, types.InputPeerChannel):
        await client(
            functions.channels.ReadHistoryRequest(
                types.InputChannel(entity.channel_id, entity.access_hash), top
            )
        )
    return len(latest)


async def react_latest(client: TelegramClient, *, target: str, emoji: str) -> bool:
    """Put a reaction on the newest message of a channel the account can see."""
    entity = await peers.resolve(client, target)
    latest = await _latest(client, entity, limit=1)
    if not latest:
        return False
    await client(
        functions.messages.SendReactionRequest(
            peer=entity, msg_id=latest[0].id, reaction=[types.ReactionEmoji(emoticon=emoji)]
        )
    )
    return True


async def _latest(client: TelegramClient, entity: Any, *, limit: int) -> list[Any]:
    history = await client(
        functions.messages.GetHistoryRequest(
            peer=entity, offset_id=0, offset_date=None, add_offset=0, limit=limit, max_id=0, min_id=0, hash=0
        )
    )
    return list(history.messages)


# --- what the API does with one account's messages ---------------------------------------------------


async def history(
    client: TelegramClient,
    *,
    account_id: int,
    peer: peers.Peer,
    limit: int,
    offset_id: int = 0,
    search: str = "",
) -> list[MessageRecord]:
    """A chat's messages, newest first, older than ``offset_id`` (0: from the newest); with ``search``
    only those whose text contains it (messages.search). Service messages (joins, pins) are left out."""
    entity = await peers.resolve(client, peer)
    found = await client.get_messages(entity, limit=limit, offset_id=offset_id, search=search or None)
    return [record for record in (message_record(account_id, m) for m in found) if record is not None]


async def edit_message(
    client: TelegramClient, *, peer: peers.Peer, message_id: int, text: str, parse_mode: str | None = None
) -> None:
    """messages.editMessage: MESSAGE_NOT_MODIFIED when the text is the same, MESSAGE_ID_INVALID when the
    message is gone, MESSAGE_AUTHOR_REQUIRED for someone else's message."""
    entity = await peers.resolve(client, peer)
    text, entities = _markup(text, parse_mode)
    await client(
        functions.messages.EditMessageRequest(peer=entity, id=message_id, message=text, entities=entities)
    )


async def delete_messages(client: TelegramClient, *, peer: peers.Peer, ids: list[int], revoke: bool) -> int:
    """Delete messages (for everyone with ``revoke``; channels always delete for everyone). Returns how
    many Telegram deleted: ids that are gone already count nothing."""
    entity = await peers.resolve(client, peer)
    affected = await client.delete_messages(entity, ids, revoke=revoke)
    return sum(getattr(item, "pts_count", 0) for item in affected)


async def forward_messages(
    client: TelegramClient,
    *,
    from_peer: peers.Peer,
    ids: list[int],
    to_peer: peers.Peer,
    random_ids: list[int],
    silent: bool = False,
    drop_author: bool = False,
) -> list[int | None]:
    """messages.forwardMessages with one caller-chosen random_id per message, so a retry forwards nothing
    twice. Returns the new id of each message in ``ids`` order (None for one that no longer exists)."""
    request = functions.messages.ForwardMessagesRequest(
        from_peer=await peers.resolve(client, from_peer),
        id=ids,
        to_peer=await peers.resolve(client, to_peer),
        random_id=random_ids,
        silent=silent or None,
        drop_author=drop_author or None,
    )
    result = await client(request)
    new_ids = {
        update.random_id: update.id
        for update in getattr(result, "updates", [])
        if isinstance(update, types.UpdateMessageID)
    }
    return [new_ids.get(random_id) for random_id in random_ids]


async def mark_read(client: TelegramClient, *, peer: peers.Peer, max_id: int = 0) -> int:
    """Mark the chat read up to ``max_id`` (0: its newest message). Returns the id read up to, 0 for an
    empty chat."""
    entity = await peers.resolve(client, peer)
    if not max_id:
        latest = await _latest(client, entity, limit=1)
        max_id = latest[0].id if latest else 0
    if max_id:
        await client.send_read_acknowledge(entity, max_id=max_id)
    return max_id


async def send_file(
    client: TelegramClient,
    *,
    peer: peers.Peer,
    data: bytes,
    name: str,
    mime_type: str,
    caption: str,
    random_id: int,
    parse_mode: str | None = None,
) -> Sent:
    """Upload ``data`` and send it with ``caption`` and the caller's ``random_id`` (a retry is deduplicated
    by Telegram)."""
    entity = await peers.resolve(client, peer)
    text, entities = _markup(caption, parse_mode)
    request = functions.messages.SendMediaRequest(
        peer=entity,
        media=await media.upload_bytes(client, data=data, name=name, mime_type=mime_type),
        message=text,
        random_id=random_id,
        entities=entities,
    )
    return _sent(await client(request), random_id)
