"""The inbox: the key's accounts' conversations with the console's filters, their messages, and working
them (reply, assign, label, note, close and reopen) through the inbox's own selectors and services.

A key is no user: it sees the conversations of its accounts, and what it writes is by no operator (a
reply counts as automated in the reports, a note has no author)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.db.models import QuerySet
from pydantic import BaseModel, Field

from api.tools import Call, NoParams, Params, TelegramText, fail, tool
from crm.parsing import MAX_ID
from inbox import selectors, services
from inbox.models import Conversation, Label, Message

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_LABELS = 1_000


class ConversationsParams(Params):
    state: Literal["open", "closed", "snoozed", "all"] = "open"
    kind: Conversation.Kind | None = None
    account: Id | None = None
    unread: bool = Field(default=False, description="Only conversations with unread messages")
    assignee: Id | None = Field(default=None, description="Only those assigned to this user")
    unassigned: bool = False
    label: Id | None = None
    search: str = Field(
        default="",
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Word beginnings in the person's name, @username, phone, notes or messages (ranked so)",
    )
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)


class LabelRow(BaseModel):
    id: int
    name: str


class Assignee(BaseModel):
    id: int
    username: str


class ConversationRow(BaseModel):
    id: int
    account: int
    peer_id: int
    kind: str
    title: TelegramText
    username: TelegramText
    last_message_at: datetime | None
    last_message_preview: TelegramText
    last_direction: str  # "in" while the newest message awaits an answer
    unread_count: int
    state: str
    snoozed_until: datetime | None
    assignee: Assignee | None
    labels: list[LabelRow]


class Conversations(BaseModel):
    conversations: list[ConversationRow]
    has_more: bool


@tool("inbox_conversations", "GET", "/inbox/conversations", scope="fleet:read", read_only=True)
def inbox_conversations(call: Call, params: ConversationsParams) -> Conversations:
    """The key's accounts' conversations, newest activity first, with the inbox's filters: state, kind,
    account, unread, assignee, label and a search (names, @usernames, phone digits, notes, message text)."""
    filters = selectors.Filters(
        q=params.search.strip(),
        account=params.account,
        unread=params.unread,
        who="unassigned" if params.unassigned else "",
        assignee=params.assignee,
        label=params.label,
        kind=params.kind or "",
        state=params.state,
    )
    rows = selectors.conversations_filter(rows=_mine(call), filters=filters)
    page = list(rows[params.offset : params.offset + params.limit + 1])
    return Conversations(
        conversations=[_row(c) for c in page[: params.limit]], has_more=len(page) > params.limit
    )


class MessagesParams(Params):
    conversation: Id
    before: Id | None = Field(default=None, description="The page before this message id (scrolling back)")
    limit: int = Field(default=40, ge=1, le=200)


class MessageRow(BaseModel):
    id: int
    telegram_id: int | None  # None until a reply is sent
    direction: str  # in or out
    sender_name: TelegramText
    text: TelegramText
    media_kind: str
    reply_to_id: int | None
    date: datetime
    edited_at: datetime | None
    deleted: bool
    delivery: str  # pending, sent or failed (replies)
    failure_reason: TelegramText


class Messages(BaseModel):
    messages: list[MessageRow]  # oldest first
    has_older: bool


@tool(
    "inbox_messages",
    "GET",
    "/inbox/conversations/{conversation}/messages",
    scope="fleet:read",
    read_only=True,
)
def inbox_messages(call: Call, params: MessagesParams) -> Messages:
    """A conversation's messages, oldest first: the latest page, or the page before ``before``."""
    conversation = _conversation(call, params.conversation)
    rows, has_older = selectors.history(conversation=conversation, before=params.before, limit=params.limit)
    return Messages(messages=[_message(m) for m in rows], has_older=has_older)


class ReplyParams(Params):
    conversation: Id
    text: str = Field(
        min_length=1, max_length=services.MAX_TEXT, description="Or /shortcut of a canned reply"
    )
    reply_to: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="Telegram's id of the message answered"
    )


@tool("inbox_reply", "POST", "/inbox/conversations/{conversation}/replies", scope="inbox:write")
def inbox_reply(call: Call, params: ReplyParams) -> MessageRow:
    """Reply in the conversation: the reply is stored pending and sent by the account's host (its delivery
    shows in the conversation's messages). A retry with the same Idempotency-Key returns the same reply."""
    conversation = _conversation(call, params.conversation)
    try:
        message = services.reply_send(
            conversation=conversation,
            text=params.text,
            by=None,
            reply_to=params.reply_to,
            random_id=call.random_id(),
        )
    except ValueError as error:
        raise fail(400, "rejected", str(error)) from None
    return _message(message)


class AssignParams(Params):
    conversation: Id
    assignee: Id | None = Field(description="A user's id; null to unassign")


@tool("inbox_assign", "PUT", "/inbox/conversations/{conversation}/assignee", scope="inbox:write")
def inbox_assign(call: Call, params: AssignParams) -> ConversationRow:
    """Assign the conversation to an admin or an operator granted its account, or unassign it."""
    conversation = _conversation(call, params.conversation)
    assignee = None
    if params.assignee is not None:
        assignee = selectors.assignees(conversation=conversation).filter(pk=params.assignee).first()
        if assignee is None:
            raise fail(400, "rejected", "No such user may be assigned this conversation")
    services.conversation_assign(conversation=conversation, assignee=assignee, by=None)
    return _row(_conversation(call, conversation.pk))


class LabelParams(Params):
    conversation: Id
    add: list[Id] = Field(default_factory=list, max_length=100)
    remove: list[Id] = Field(default_factory=list, max_length=100)


@tool("inbox_label", "PATCH", "/inbox/conversations/{conversation}/labels", scope="inbox:write")
def inbox_label(call: Call, params: LabelParams) -> ConversationRow:
    """Add labels to and remove labels from the conversation (ids from inbox_labels)."""
    conversation = _conversation(call, params.conversation)
    named = {*params.add, *params.remove}
    known = Label.objects.in_bulk(named)
    if unknown := sorted(named - set(known)):
        raise fail(400, "rejected", f"No label with id {', '.join(map(str, unknown))}")
    services.conversation_labels_change(
        conversation=conversation,
        add=[known[pk] for pk in params.add],
        remove=[known[pk] for pk in params.remove],
        by=None,
    )
    return _row(_conversation(call, conversation.pk))


class Labels(BaseModel):
    labels: list[LabelRow]


@tool("inbox_labels", "GET", "/inbox/labels", scope="fleet:read", read_only=True)
def inbox_labels(call: Call, params: NoParams) -> Labels:
    """The labels conversations can carry."""
    return Labels(
        labels=[LabelRow(id=label.pk, name=label.name) for label in selectors.labels_all()[:MAX_LABELS]]
    )


class NoteParams(Params):
    conversation: Id
    text: str = Field(min_length=1, max_length=services.MAX_NOTE)


class NoteRow(BaseModel):
    id: int
    text: str
    created_at: datetime


@tool("inbox_note", "POST", "/inbox/conversations/{conversation}/notes", scope="inbox:write")
def inbox_note(call: Call, params: NoteParams) -> NoteRow:
    """Add an internal note to the conversation (never sent to Telegram)."""
    conversation = _conversation(call, params.conversation)
    try:
        note = services.note_add(conversation=conversation, text=params.text, by=None)
    except ValueError as error:
        raise fail(400, "rejected", str(error)) from None
    return NoteRow(id=note.pk, text=note.text, created_at=note.created_at)


class StateParams(Params):
    conversation: Id
    state: Literal["open", "closed"]


@tool("inbox_set_state", "PUT", "/inbox/conversations/{conversation}/state", scope="inbox:write")
def inbox_set_state(call: Call, params: StateParams) -> ConversationRow:
    """Close the conversation, or reopen it."""
    conversation = _conversation(call, params.conversation)
    services.conversation_set_state(conversation=conversation, state=params.state, by=None)
    return _row(_conversation(call, conversation.pk))


def _mine(call: Call) -> QuerySet[Conversation]:
    return Conversation.objects.filter(account__in=call.key.accounts.all())


def _conversation(call: Call, conversation_id: int) -> Conversation:
    """The conversation if it belongs to one of the key's accounts; 404 otherwise (existence not revealed)."""
    found = (
        _mine(call).select_related("assignee").prefetch_related("labels").filter(pk=conversation_id).first()
    )
    if found is None:
        raise fail(404, "not_found", "No such conversation for this key")
    return found


def _row(conversation: Conversation) -> ConversationRow:
    assignee = conversation.assignee
    return ConversationRow(
        id=conversation.pk,
        account=conversation.account_id,
        peer_id=conversation.peer_id,
        kind=conversation.kind,
        title=conversation.title,
        username=conversation.username,
        last_message_at=conversation.last_message_at,
        last_message_preview=conversation.last_message_preview,
        last_direction=conversation.last_direction,
        unread_count=conversation.unread_count,
        state=conversation.state,
        snoozed_until=conversation.snoozed_until,
        assignee=Assignee(id=assignee.pk, username=assignee.get_username()) if assignee else None,
        labels=[LabelRow(id=label.pk, name=label.name) for label in conversation.labels.all()],
    )


def _message(message: Message) -> MessageRow:
    return MessageRow(
        id=message.pk,
        telegram_id=message.telegram_id,
        direction=message.direction,
        sender_name=message.sender_name,
        text=message.text,
        media_kind=message.media_kind,
        reply_to_id=message.reply_to_id,
        date=message.date,
        edited_at=message.edited_at,
        deleted=message.deleted,
        delivery=message.delivery,
        failure_reason=message.failure_reason,
    )
