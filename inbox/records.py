"""What ingestion carries from Telegram to storage: plain dataclasses, no Telethon objects.

inbox.telegram builds them on the session host from Telethon events; inbox.store writes them.
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


@dataclass
class Batch:
    messages: list[MessageRecord] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    reads: list[ReadMark] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages) + len(self.deletions) + len(self.reads)

    def extend(self, other: Batch) -> None:
        self.messages.extend(other.messages)
        self.deletions.extend(other.deletions)
        self.reads.extend(other.reads)
