"""Who and what one account sees on Telegram: resolving names, its dialogs, a chat's members; and the
chats it makes, deletes, joins and leaves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from accounts import commands
from api.catalog.messages import Peer
from api.tools import Call, Params, TelegramText, tool


def _id_or_name(value: Any) -> Any:
    """A query string carries no types: digits (with a minus for groups and channels) are an id, as the
    same number sent as an integer would be; a phone number starts with "+"."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) <= 20:
        return int(value)
    return value


Target = Annotated[Peer, BeforeValidator(_id_or_name)]
ChatLink = Annotated[str, Field(min_length=1, max_length=200)]


class Entity(BaseModel):
    kind: Literal["user", "group", "channel"]
    id: int  # marked: negative for groups and channels
    name: TelegramText  # the user's full name, or the chat's title
    username: TelegramText
    bot: bool


def _entity(found: commands.Entity) -> Entity:
    return Entity.model_validate(found.model_dump())


class EntityParams(Params):
    peer: Target = Field(description="@username, t.me link, phone (+…) or id")


@tool("entity_resolve", "GET", "/accounts/{account}/entity", scope="messages:read", read_only=True)
def entity_resolve(call: Call, params: EntityParams) -> Entity:
    """Who or what a username, t.me link, phone or id is, as the account sees it (by name or phone: from
    the account's resolve budget)."""
    return _entity(call.command(commands.resolve_entity, peer=params.peer))


class DialogsParams(Params):
    limit: int = Field(default=100, ge=1, le=500)
    archived: bool = Field(
        default=False, description="the archive (Telegram's folder 1) instead of the main list"
    )


class Dialog(BaseModel):
    id: int
    kind: Literal["private", "group", "channel"]
    title: TelegramText
    username: TelegramText
    unread_count: int
    top_message_id: int
    archived: bool


class Dialogs(BaseModel):
    dialogs: list[Dialog]


@tool("dialogs_list", "GET", "/accounts/{account}/dialogs", scope="messages:read", read_only=True)
def dialogs_list(call: Call, params: DialogsParams) -> Dialogs:
    """The account's chats, newest first: the main list, or its archive."""
    found = call.command(commands.sync_dialogs, limit=params.limit, archived=params.archived)
    return Dialogs(
        dialogs=[
            Dialog.model_validate({**d.model_dump(exclude={"peer_id"}), "id": d.peer_id})
            for d in found.dialogs
        ]
    )


class ParticipantsParams(Params):
    chat: Target = Field(description="the group or channel: @username, t.me link or id")
    limit: int = Field(default=100, ge=1, le=200)
    search: str = Field(default="", max_length=64, description="names or usernames starting with this")


class Participant(BaseModel):
    id: int
    first_name: TelegramText
    last_name: TelegramText
    username: TelegramText
    bot: bool


class Participants(BaseModel):
    total: int  # members in all, as Telegram counts them
    participants: list[Participant]


@tool("participants_list", "GET", "/accounts/{account}/participants", scope="messages:read", read_only=True)
def participants_list(call: Call, params: ParticipantsParams) -> Participants:
    """Members of a group or channel the account can see, newest first or by name (broadcast channels
    show their members to admins only)."""
    found = call.command(commands.participants, **params.model_dump())
    return Participants.model_validate(found.model_dump())


class CreateParams(Params):
    title: str = Field(min_length=1, max_length=128)
    about: str = Field(default="", max_length=255)
    kind: Literal["supergroup", "channel"] = "supergroup"


@tool("chat_create", "POST", "/accounts/{account}/chats", scope="chats:manage")
def chat_create(call: Call, params: CreateParams) -> Entity:
    """Create a supergroup or a broadcast channel with the account as its creator (once per
    Idempotency-Key)."""
    return _entity(call.command_once(commands.create_chat, **params.model_dump()))


class ChatParams(Params):
    chat: Target = Field(description="the group or channel: @username, t.me link or id")


class Done(BaseModel):
    done: bool
    operation: str


@tool("chat_delete", "DELETE", "/accounts/{account}/chats", scope="chats:manage", destructive=True)
def chat_delete(call: Call, params: ChatParams) -> Done:
    """Delete a supergroup or channel for everyone in it; only its creator may."""
    call.command(commands.delete_chat, target=params.chat)
    return Done(done=True, operation=call.operation)


class JoinParams(Params):
    chat: ChatLink = Field(description="@username, t.me link or invite link (t.me/+…)")


class Joined(BaseModel):
    id: int
    title: TelegramText
    operation: str


@tool("chat_join", "POST", "/accounts/{account}/memberships", scope="chats:manage")
def chat_join(call: Call, params: JoinParams) -> Joined:
    """Join a group or channel, from the account's join budget (once per Idempotency-Key)."""
    joined = call.command_once(commands.join, target=params.chat)
    return Joined(id=joined.peer_id, title=joined.title, operation=call.operation)


@tool("chat_leave", "DELETE", "/accounts/{account}/memberships", scope="chats:manage", destructive=True)
def chat_leave(call: Call, params: ChatParams) -> Done:
    """Leave a group or channel."""
    call.command(commands.leave, target=params.chat)
    return Done(done=True, operation=call.operation)
