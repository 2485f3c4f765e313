"""What the Telegram layer returns: plain dataclasses, no Telethon objects.

This module imports no Telethon, so the web process (which must never load it) can use these types.
The layer's modules build them on the session host; services decide what to do with them and store them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Telegram's own service account ("Telegram", verified): it writes login codes and security notices for the
# account itself. Those are never an inbox conversation: operators must not read the fleet's login codes.
SERVICE_USER_ID = 777000
_DIGIT = re.compile(r"\d")


def masked(text: str) -> str:
    """A service notification as admins may see it: every digit hidden, so no login code survives."""
    return _DIGIT.sub("•", text)


@dataclass(frozen=True)
class Me:
    telegram_id: int
    username: str
    first_name: str
    last_name: str
    phone: str


@dataclass(frozen=True)
class CodeSent:
    phone_code_hash: str
    delivery: str  # how Telegram delivered it: app, sms, call…
    timeout: int | None


@dataclass(frozen=True)
class SignedIn:
    me: Me


@dataclass(frozen=True)
class PasswordNeeded:
    hint: str


@dataclass(frozen=True)
class Sent:
    message_id: int
    date: datetime | None


@dataclass(frozen=True)
class UserAddress:
    """A user addressed with this account's own access_hash (access_hash is per viewing account)."""

    user_id: int
    access_hash: int


@dataclass(frozen=True)
class ChannelAddress:
    """A channel or supergroup addressed with this account's own access_hash."""

    channel_id: int
    access_hash: int


@dataclass(frozen=True)
class Joined:
    peer_id: int
    title: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A Telegram user as one account sees it (access_hash is per viewing account)."""

    telegram_id: int
    access_hash: int | None
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    is_bot: bool = False
    is_deleted: bool = False

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"@{self.username}" if self.username else str(self.telegram_id))


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """The other side of a conversation: a user (private), a group or a channel."""

    peer_id: int  # Telethon's marked id
    kind: str  # private, group, channel
    title: str = ""
    username: str = ""
    user: UserInfo | None = None  # set for private chats


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A new or edited message, as received (incoming) or as sent from any device (outgoing)."""

    account_id: int
    peer: PeerInfo
    telegram_id: int
    out: bool
    date: datetime
    text: str = ""
    sender: UserInfo | None = None
    sender_name: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    media_kind: str = ""
    media: dict[str, Any] = field(default_factory=dict)
    reply_to_id: int | None = None
    edited_at: datetime | None = None

    @property
    def is_service_notification(self) -> bool:
        """From (or to) Telegram's service account: kept for admins, never shown in the inbox."""
        return self.peer.peer_id == SERVICE_USER_ID


@dataclass(frozen=True, slots=True)
class Deletion:
    """Messages deleted on Telegram. Private and basic-group deletions name no chat: their ids are
    unique per account, so the ids alone identify them. Channel deletions carry the channel."""

    account_id: int
    ids: tuple[int, ...]
    channel_peer_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReadMark:
    """Everything up to ``max_id`` was read: by the account on another device (inbox) or by the peer
    (outbox, a read receipt for our messages)."""

    account_id: int
    peer_id: int
    max_id: int
    outbox: bool


@dataclass(frozen=True, slots=True)
class Dialog:
    """One entry of the account's dialog list, with Telegram's read state and, when asked for, the
    newest messages."""

    peer: PeerInfo
    unread_count: int
    read_inbox_max_id: int
    read_outbox_max_id: int
    top_message_id: int
    messages: list[MessageRecord] = field(default_factory=list)
    archived: bool = False  # in Telegram's archive (peer folder 1)


@dataclass(frozen=True)
class Group:
    """A group or channel as this account sees it: its own access_hash, and whether it is a member."""

    channel_id: int
    access_hash: int
    title: str
    member: bool

    @property
    def address(self) -> ChannelAddress:
        return ChannelAddress(self.channel_id, self.access_hash)


@dataclass(frozen=True)
class GroupInfo:
    members: int
    hidden: bool


PAGE = 200  # Telegram's largest getParticipants page


@dataclass(frozen=True)
class Page:
    """One page of a group's member list."""

    count: int
    listed: int  # participants on this page: what the offset advances by
    people: list[UserInfo]
    flood_waited: bool = False  # Telegram asked to wait and Telethon slept it through


@dataclass(frozen=True)
class Entity:
    """A user, group or channel as one account resolved it."""

    peer_id: int  # Telethon's marked id: negative for groups and channels
    kind: str  # user, group, channel
    name: str  # the user's full name, or the chat's title
    username: str = ""
    bot: bool = False


@dataclass(frozen=True)
class Participants:
    """Members of a group or channel, as many as asked for, and how many it has in all."""

    total: int
    people: list[UserInfo]
