"""What the inbox's account commands do on the session host (pattern of accounts.steps)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts import telegram
from accounts.host.commands import Failed
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.services import account_touch
from inbox import services
from inbox.models import Message


def _require_login(hosted: Hosted) -> None:
    if not hosted.authorized:
        raise Failed("The account is not logged in")


def _pending(message_id: int) -> Message | None:
    return (
        Message.objects.select_related("conversation")
        .filter(pk=message_id, delivery=Message.Delivery.PENDING)
        .first()
    )


async def send_reply(hosted: Hosted, *, message_id: int) -> dict[str, Any]:
    """Send a pending reply with its stored random_id; a redelivered command sends nothing twice."""
    _require_login(hosted)
    message = await db(_pending)(message_id)
    if message is None:
        return {"ok": True, "skipped": "not pending"}
    conversation = message.conversation
    assert hosted.client is not None
    try:
        # The peer comes from this account's own entity cache: access hashes are per viewing account.
        peer = await telegram.peers.resolve(hosted.client, conversation.peer_id)
    except telegram.peers.PeerNotFound:
        if not conversation.username:
            raise Failed("This account has not seen that chat yet, so it cannot address it") from None
        peer = await telegram.peers.resolve(hosted.client, conversation.username)
    sent = await telegram.messages.send_message(
        hosted.client, peer=peer, text=message.text, random_id=message.random_id, reply_to=message.reply_to_id
    )
    await db(services.reply_sent)(message_id=message_id, telegram_id=sent.message_id, date=sent.date)
    await db(account_touch)(account_id=hosted.account_id)
    return {"ok": True, "message_id": sent.message_id}


async def fetch_media(hosted: Hosted, *, message_id: int) -> dict[str, Any]:
    """Download a message's media through the account that received it, and keep it."""
    _require_login(hosted)
    assert hosted.client is not None
    message = await db(Message.objects.select_related("conversation").get)(pk=message_id)
    try:
        data, mime = await telegram.media.download(
            hosted.client,
            peer=message.conversation.peer_id,
            telegram_id=message.telegram_id,
            max_bytes=settings.INBOX_MEDIA_MAX_BYTES,
        )
    except ValueError as problem:
        raise Failed(str(problem)) from None
    await db(services.media_store)(message_id=message_id, data=data, mime_type=mime)
    return {"ok": True, "size": len(data)}


async def backfill(hosted: Hosted) -> dict[str, Any]:
    """The dialog list and the last messages of each dialog, stored like any ingested batch."""
    _require_login(hosted)
    assert hosted.client is not None
    dialogs = await telegram.dialogs.get_dialogs(
        hosted.client,
        account_id=hosted.account_id,
        limit=settings.INBOX_BACKFILL_DIALOGS,
        per_dialog=settings.INBOX_BACKFILL_MESSAGES,
    )
    stored = await db(services.backfill_store)(account_id=hosted.account_id, dialogs=dialogs)
    return {"ok": True, "dialogs": len(dialogs), "messages": stored}
