"""The inbox's account commands: send an operator's reply, backfill the dialogs, fetch a message's media."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pydantic import Field

from accounts import telegram as tg
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.registry import CommandError, InputError, NoParams, Params, Result, command
from inbox import services
from inbox.models import Conversation, Message


class MessageParams(Params):
    message_id: int  # our Message row


class Reply(Result):
    message_id: int | None = None  # Telegram's id; None when the reply was no longer pending
    skipped: str = ""


def _reply_failed(account_id: int, params: MessageParams, error: CommandError) -> None:
    services.reply_failed(message_id=params.message_id, reason=error.reason)


def _pending(message_id: int) -> Message | None:
    return (
        Message.objects.select_related("conversation")
        .filter(pk=message_id, delivery=Message.Delivery.PENDING)
        .first()
    )


@command("inbox.reply", budget="message", on_failure=_reply_failed)
async def reply(hosted: Hosted, params: MessageParams) -> Reply:
    """Send a pending reply with its stored random_id; a redelivered command sends nothing twice."""
    message = await db(_pending)(params.message_id)
    if message is None:
        return Reply(skipped="not pending")
    peer = await _peer(hosted, message.conversation)
    sent = await tg.messages.send_message(
        hosted.client, peer=peer, text=message.text, random_id=message.random_id, reply_to=message.reply_to_id
    )
    await db(services.reply_sent)(message_id=params.message_id, telegram_id=sent.message_id, date=sent.date)
    return Reply(message_id=sent.message_id)


async def _peer(hosted: Hosted, conversation: Conversation) -> Any:
    try:
        # The peer comes from this account's own entity cache: access hashes are per viewing account.
        return await tg.peers.resolve(hosted.client, conversation.peer_id)
    except tg.peers.PeerNotFound:
        if not conversation.username:
            raise InputError("This account has not seen that chat yet, so it cannot address it") from None
        return await tg.peers.resolve(hosted.client, conversation.username)


class ReadParams(Params):
    conversation_id: int
    max_id: int = Field(ge=1, le=2**31 - 1)  # Telegram's id of the newest message read


class Read(Result):
    max_id: int = 0
    skipped: str = ""


@command("inbox.read", budget="read")
async def read(hosted: Hosted, params: ReadParams) -> Read:
    """Mark a conversation read on Telegram up to ``max_id``, as an operator opened or answered it here:
    the sender sees it read, and the account's other apps stop showing it unread."""
    found = Conversation.objects.filter(pk=params.conversation_id, account_id=hosted.account_id).first
    conversation = await db(found)()
    if conversation is None:
        return Read(skipped="the conversation no longer exists")
    peer = await _peer(hosted, conversation)
    return Read(max_id=await tg.messages.mark_read(hosted.client, peer=peer, max_id=params.max_id))


class Media(Result):
    size: int


def _media_failed(account_id: int, params: MessageParams, error: CommandError) -> None:
    services.media_failed(message_id=params.message_id, reason=error.reason)


@command("inbox.fetch_media", read_only=True, on_failure=_media_failed)
async def fetch_media(hosted: Hosted, params: MessageParams) -> Media:
    """Download a message's media through the account that received it, and keep it."""
    message = await db(Message.objects.select_related("conversation").filter(pk=params.message_id).first)()
    if message is None:
        raise InputError("The message no longer exists")
    try:
        data, mime = await tg.media.download(
            hosted.client,
            peer=message.conversation.peer_id,
            telegram_id=message.telegram_id,
            max_bytes=settings.INBOX_MEDIA_MAX_BYTES,
        )
    except ValueError as problem:
        raise InputError(str(problem)) from None
    await db(services.media_store)(message_id=params.message_id, data=data, mime_type=mime)
    return Media(size=len(data))


class Backfilled(Result):
    dialogs: int
    messages: int


@command("inbox.backfill", read_only=True, timeout=600)
async def backfill(hosted: Hosted, params: NoParams) -> Backfilled:
    """The dialog list and the last messages of each dialog, stored like any ingested batch."""
    dialogs = await tg.dialogs.get_dialogs(
        hosted.client,
        account_id=hosted.account_id,
        limit=settings.INBOX_BACKFILL_DIALOGS,
        per_dialog=settings.INBOX_BACKFILL_MESSAGES,
    )
    stored = await db(services.backfill_store)(account_id=hosted.account_id, dialogs=dialogs)
    return Backfilled(dialogs=len(dialogs), messages=stored)
