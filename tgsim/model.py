"""The world's plain data: users, their private message boxes, channels, media.

Everything here is a dataclass of ints, strings, lists and dicts so the whole world pickles quickly and
stays cheap in memory for tens of thousands of users. Telegram-shaped TL objects are only built on the way
out, per viewer (see render.py), because most fields (access_hash, contact flags, phone visibility) depend on
who is looking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# One pts-log entry: (pts after the event, pts_count, kind, data). Kinds: "new" (msg id), "edit" (msg id),
# "delete" (list of ids), "read_in"/"read_out" ((peer id, max id)), "react" (msg id), "folder" (list of
# (peer id, folder id)).
Event = tuple[int, int, str, object]


# Telegram's own service account: login codes and security notices come from it ("Telegram", verified).
SERVICE_USER_ID = 777000


@dataclass
class Password:
    """A 2FA password kept the way Telegram keeps it: only the SRP verifier v = g^x mod p, never the text."""

    salt1: bytes
    salt2: bytes
    verifier: int
    hint: str = ""


@dataclass
class Persona:
    """A scripted human: answers DMs with some probability after a delay, may write first."""

    reply_probability: float = 0.5
    delay_min: float = 5.0
    delay_max: float = 60.0
    texts: list[str] = field(default_factory=list)
    writes_first: list[int] = field(default_factory=list)


@dataclass
class Message:
    """One message in one box. Private chats keep a copy per participant (each with its own id), so
    ``twin`` points at the other participant's copy (owner user id, message id)."""

    id: int
    peer: int  # the other user (private box) or the channel id (channel messages)
    from_id: int
    out: bool
    date: int
    text: str = ""
    media: int | None = None  # id in World.media
    edit_date: int | None = None
    twin: tuple[int, int] | None = None
    fwd: tuple[int, int] | None = None  # (original author peer id, original date)
    reply_to: int | None = None
    # Formatting as sent (bold, links with their URLs, mentions...): TL MessageEntity objects, kept as is.
    entities: tuple = ()
    reactions: dict[int, str] = field(default_factory=dict)  # reactor user id -> emoticon
    # Basic groups store a copy per member; all copies share this list of (owner, message id).
    copies: list[tuple[int, int]] | None = None

    def others(self, owner: int) -> list[tuple[int, int]]:
        """The other copies of this message: the private twin or the basic-group copies."""
        if self.copies is not None:
            return [c for c in self.copies if c[0] != owner]
        return [self.twin] if self.twin and self.twin[0] != owner else []

    def summary(self, media_kind: str | None) -> dict:
        """JSON-friendly view for the control API."""
        return {
            "id": self.id,
            "from_id": self.from_id,
            "peer": self.peer,
            "out": self.out,
            "date": self.date,
            "text": self.text,
            "edited": self.edit_date is not None,
            "media": media_kind,
            "reactions": {str(k): v for k, v in self.reactions.items()},
        }


@dataclass
class Dialog:
    peer: int
    read_inbox_max_id: int = 0
    read_outbox_max_id: int = 0
    pinned: bool = False
    folder_id: int = 0  # 1: the owner archived it (Telegram's peer folder 1, the archive)


@dataclass
class User:
    id: int
    phone: str
    first_name: str
    last_name: str = ""
    username: str | None = None
    about: str = ""
    created: int = 0
    last_seen: int = 0
    deleted: bool = False
    banned: bool = False
    # "Who can message me: my contacts" - strangers get 403 USER_PRIVACY_RESTRICTED (DMs and invites).
    restricted_privacy: bool = False
    password: Password | None = None
    persona: Persona | None = None
    # Private message box (private chats share one id sequence and one pts per user, as in Telegram).
    pts: int = 1  # a fresh account starts at 1: pts 0 is PERSISTENT_TIMESTAMP_EMPTY
    next_msg_id: int = 1
    box: dict[int, Message] = field(default_factory=dict)
    history: dict[int, list[int]] = field(default_factory=dict)  # peer id -> ascending message ids
    dialogs: dict[int, Dialog] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    contacts: dict[int, str] = field(default_factory=dict)  # user id -> name the owner saved
    blocked: set[int] = field(default_factory=set)
    channels: set[int] = field(default_factory=set)
    # random_id -> (message id, pts, pts_count) of the message it produced, for resend dedupe.
    sent_random: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    first_contacts: list[tuple[int, int]] = field(default_factory=list)  # (date, user id) for PEER_FLOOD
    resolves: list[int] = field(default_factory=list)  # dates of resolveUsername calls today

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Chat:
    """A basic group: no shared history - every message is copied into each member's own box, with that
    member's message id and pts, exactly like a private chat."""

    id: int
    title: str
    creator: int
    date: int
    members: dict[int, Member] = field(default_factory=dict)

    def is_admin(self, user_id: int) -> bool:
        member = self.members.get(user_id)
        return member is not None and member.role in ("creator", "admin")


@dataclass
class Member:
    user_id: int
    date: int
    role: str = "member"  # "creator" | "admin" | "member"
    inviter_id: int | None = None
    folder_id: int = 0  # 1: the member archived the chat (supergroups and channels)


@dataclass
class Channel:
    """A supergroup (megagroup) or broadcast channel: one shared message sequence and one pts."""

    id: int
    title: str
    creator: int
    date: int
    broadcast: bool = False
    username: str | None = None
    about: str = ""
    hidden_members: bool = False
    invite_hash: str = ""  # t.me/+<hash> link that lets anyone join, even a private group
    members: dict[int, Member] = field(default_factory=dict)  # insertion order = join order
    kicked: set[int] = field(default_factory=set)
    messages: dict[int, Message] = field(default_factory=dict)
    next_msg_id: int = 1
    pts: int = 1  # Telegram never uses pts 0 for a channel (PERSISTENT_TIMESTAMP_EMPTY)
    events: list[Event] = field(default_factory=list)
    read_inbox: dict[int, int] = field(default_factory=dict)  # member id -> read_inbox_max_id
    read_outbox_max_id: int = 0
    last_activity: int = 0
    random_ids: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    @property
    def megagroup(self) -> bool:
        return not self.broadcast

    def is_admin(self, user_id: int) -> bool:
        member = self.members.get(user_id)
        return member is not None and member.role in ("creator", "admin")


@dataclass
class Media:
    id: int
    kind: str  # "photo" | "document"
    data: bytes
    date: int
    owner: int
    mime_type: str = "application/octet-stream"
    file_name: str = ""
    attributes: list = field(default_factory=list)  # TL DocumentAttribute objects, kept as sent
    file_reference: bytes = b""


@dataclass
class LoginCode:
    phone: str
    code: str
    phone_code_hash: str
    sent_at: float
    verified: bool = False  # signIn accepted the code but the number has no account yet (sign-up pending)
    dead_hashes: list[str] = field(default_factory=list)
