"""Messages of one account: read, send (exactly once with an Idempotency-Key), edit, delete, forward,
mark read, and send a file fetched from an HTTPS URL."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from pydantic import AfterValidator, BaseModel, Field, HttpUrl, UrlConstraints

from accounts import commands
from accounts.outgoing import outgoing_file_store
from api import fetch
from api.tools import Call, Params, TelegramText, fail, tool

Text = Annotated[str, Field(min_length=1, max_length=4096)]


def _id_as_text(value: str) -> str | int:
    """A peer id sent as text (a query string carries no types) is the id, not a name; phones start
    with +."""
    return int(value) if re.fullmatch(r"-?\d{1,18}", value) else value


Peer = (
    Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_id_as_text)]
    | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
)
PEER = "@username, t.me link, phone (+…) or peer id"
MessageId = Annotated[int, Field(ge=1, le=2**31 - 1)]
MessageIds = Annotated[list[MessageId], Field(min_length=1, max_length=100)]
ParseMode = Literal["md", "html"] | None


class SendParams(Params):
    peer: Peer = Field(description=PEER)
    text: Text
    parse_mode: ParseMode = None
    reply_to: MessageId | None = None
    silent: bool = False
    link_preview: bool = True


class SentMessage(BaseModel):
    message_id: int
    operation: str


@tool("messages_send", "POST", "/accounts/{account}/messages", scope="messages:send", queued=True)
def messages_send(call: Call, params: SendParams) -> SentMessage:
    """Send a text message as the account; 202 with an operation when its host is slower than the request."""
    sent = call.command(commands.send, random_id=_random_ids(call, 1)[0], **params.model_dump())
    return SentMessage(message_id=sent.message_id, operation=call.operation)


# --- reading --------------------------------------------------------------------------------------


class MessagesReadParams(Params):
    peer: Peer = Field(description=PEER)
    limit: int = Field(default=20, ge=1, le=100)
    offset_id: int = Field(default=0, ge=0, le=2**31 - 1, description="Only messages older than this id")
    search: str = Field(default="", max_length=256, description="Only messages whose text contains this")


class ChatMessage(BaseModel):
    id: int
    date: datetime
    out: bool  # sent by the account
    sender_id: int | None
    sender_name: TelegramText
    text: TelegramText
    reply_to: int | None
    media_kind: str  # "" for none, else photo, document, video, voice, sticker, location, …


class ChatMessages(BaseModel):
    messages: list[ChatMessage]  # newest first; page on with offset_id = the last one's id


@tool("messages_read", "GET", "/accounts/{account}/messages", scope="messages:read", read_only=True)
def messages_read(call: Call, params: MessagesReadParams) -> ChatMessages:
    """A chat's messages, newest first: page with offset_id, filter with search."""
    found = call.command(commands.history, **params.model_dump())
    return ChatMessages(messages=[ChatMessage(**m.model_dump()) for m in found.messages])


# --- changing what was sent -----------------------------------------------------------------------


class MessageEditParams(Params):
    message_id: MessageId
    peer: Peer = Field(description=PEER)
    text: Text
    parse_mode: ParseMode = None


class EditedMessage(BaseModel):
    message_id: int
    changed: bool  # False: the message already said that (a retried edit)


@tool("messages_edit", "PUT", "/accounts/{account}/messages/{message_id}", scope="messages:send", queued=True)
def messages_edit(call: Call, params: MessageEditParams) -> EditedMessage:
    """Replace the text of a message the account sent."""
    edited = call.command(commands.edit, **params.model_dump())
    return EditedMessage(message_id=params.message_id, changed=edited.changed)


class MessagesDeleteParams(Params):
    peer: Peer = Field(description=PEER)
    ids: MessageIds
    revoke: bool = Field(default=True, description="Delete for everyone, not only for the account")


class DeletedMessages(BaseModel):
    deleted: int  # ids that were gone already count nothing


@tool(
    "messages_delete",
    "DELETE",
    "/accounts/{account}/messages",
    scope="messages:send",
    destructive=True,
    queued=True,
)
def messages_delete(call: Call, params: MessagesDeleteParams) -> DeletedMessages:
    """Delete up to 100 messages of a chat, for everyone unless revoke is false."""
    deleted = call.command(commands.delete, **params.model_dump())
    return DeletedMessages(deleted=deleted.deleted)


# --- forwarding and read marks --------------------------------------------------------------------


class MessagesForwardParams(Params):
    from_peer: Peer = Field(description=PEER)
    ids: MessageIds
    to_peer: Peer = Field(description=PEER)
    silent: bool = False
    drop_author: bool = False


class ForwardedMessages(BaseModel):
    message_ids: list[int | None]  # the copies, in the order of ids; null for a message that is gone
    operation: str


@tool("messages_forward", "POST", "/accounts/{account}/forwards", scope="messages:send", queued=True)
def messages_forward(call: Call, params: MessagesForwardParams) -> ForwardedMessages:
    """Forward up to 100 messages from one chat to another; with an Idempotency-Key a retry forwards
    nothing twice."""
    random_ids = _random_ids(call, len(params.ids))
    forwarded = call.command(commands.forward, random_ids=random_ids, **params.model_dump())
    return ForwardedMessages(message_ids=forwarded.message_ids, operation=call.operation)


class MarkReadParams(Params):
    peer: Peer = Field(description=PEER)
    max_id: int = Field(default=0, ge=0, le=2**31 - 1, description="Read up to this id; 0 for everything")


class ReadMarker(BaseModel):
    max_id: int  # read up to here; 0 for an empty chat


@tool("messages_mark_read", "PUT", "/accounts/{account}/read-marker", scope="messages:send", queued=True)
def messages_mark_read(call: Call, params: MarkReadParams) -> ReadMarker:
    """Mark a chat read, up to a message or all of it."""
    marked = call.command(commands.mark_read, **params.model_dump())
    return ReadMarker(max_id=marked.max_id)


# --- a file from a URL ----------------------------------------------------------------------------

HttpsUrl = Annotated[HttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["https", "http"])]


class FileSendParams(Params):
    peer: Peer = Field(description=PEER)
    url: HttpsUrl = Field(description="An https:// URL on the public internet")
    caption: str = Field(default="", max_length=1024)
    filename: str = Field(default="", max_length=128, description="The name Telegram shows; else the URL's")
    parse_mode: ParseMode = None


@tool("messages_send_file", "POST", "/accounts/{account}/files", scope="messages:send", queued=True)
def messages_send_file(call: Call, params: FileSendParams) -> SentMessage:
    """Download a file from an HTTPS URL and send it with a caption; with an Idempotency-Key a retry sends
    it once."""
    assert call.account is not None
    fetched = _fetched(str(params.url))
    name = fetch.safe_name(params.filename) if params.filename else fetched.name
    stored = outgoing_file_store(
        account=call.account, name=name, mime_type=fetched.mime_type, data=fetched.data
    )
    sent = call.command(
        commands.send_file,
        peer=params.peer,
        file_id=stored.pk,
        caption=params.caption,
        parse_mode=params.parse_mode,
        random_id=_random_ids(call, 1)[0],
    )
    return SentMessage(message_id=sent.message_id, operation=call.operation)


def _fetched(url: str) -> fetch.Fetched:
    policy = fetch.Policy(
        max_bytes=settings.API_FILE_MAX_BYTES,
        timeout=settings.API_FILE_TIMEOUT,
        allow_private=settings.API_FILE_URL_ALLOW_PRIVATE,
        allow_insecure=settings.API_FILE_URL_ALLOW_INSECURE,
    )
    try:
        return fetch.fetch(url, policy=policy)
    except fetch.Refused as refused:
        raise fail(400, "url_refused", str(refused)) from None
    except fetch.FetchFailed as failed:
        raise fail(502, "fetch_failed", str(failed)) from None


def _random_ids(call: Call, count: int) -> list[int]:
    """The random_ids a write sends with: derived from the Idempotency-Key, so a retry sends the same
    ones and Telegram delivers each message once; fresh ones without a key."""
    first = call.random_id()
    if first is None:
        return [secrets.randbits(63) or 1 for _ in range(count)]
    derived = [first]
    for index in range(1, count):
        digest = hashlib.sha256(f"{first}:{index}".encode()).digest()
        derived.append(int.from_bytes(digest[:8], "big") & (2**63 - 1) or 1)
    return derived
