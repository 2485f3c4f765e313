"""The simulated Telegram world and its control API.

``World()`` is empty; the Simulator calls ``attach(server)`` so handlers can push updates. Public methods
are the control API (exposed over HTTP as JSON kwargs -> JSON result), so they take and return plain
JSON-friendly values. Internals live in attributes (``net``, ``personas``) and helper modules.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from typing import Any

from tgsim import channelops, chatops, groupops
from tgsim.dialogs import read_state, set_folder
from tgsim.model import SERVICE_USER_ID, Channel, Chat, LoginCode, Media, Message, Persona, User
from tgsim.net import Net
from tgsim.personas import Personas
from tgsim.srp import make_password
from tgsim.updates import bump_user, push_user_event

USERNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{3,31}$")
FIRST_ID = 1_000_001
SERVICE_PHONE = "42777"
# Telegram reserves 99966XYYYY for test accounts on DC X; their login code is X repeated five times.
TEST_PHONE_RE = re.compile(r"^99966(\d)\d{4}$")
_INVITE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

# Attributes that only make sense while a server runs; never saved.
TRANSIENT = ("net", "personas", "srp_challenges", "pending_2fa", "uploads")


def normalize_phone(phone: str | int) -> str:
    return re.sub(r"[\s+()\-]", "", str(phone))


def valid_username(username: str) -> bool:
    return bool(USERNAME_RE.match(username)) and not username.endswith("_") and "__" not in username


class World:
    def __init__(self, seed: int | None = None) -> None:
        self.users: dict[int, User] = {}
        self.channels: dict[int, Channel] = {}
        self.chats: dict[int, Chat] = {}  # basic groups
        self.phones: dict[str, int] = {}
        self.usernames: dict[str, int] = {}  # lower-case username -> user or channel id
        self.media: dict[int, Media] = {}
        self.codes: dict[str, LoginCode] = {}
        self.invites: dict[str, int] = {}  # invite hash -> channel id
        # A seeded world is reproducible down to its access hashes; an unseeded one gets a random secret.
        seeded = hashlib.sha256(f"tgsim-world-{seed}".encode()).digest() if seed is not None else None
        self.secret = seeded or os.urandom(32)
        self.next_id = FIRST_ID
        self.rng = random.Random(seed)
        self._init_transient()

    def _init_transient(self) -> None:
        self.net = Net()
        self.personas = Personas(self)
        self.srp_challenges: dict[int, tuple[int, int, int, float]] = {}  # srp_id -> (user, b, B, expiry)
        self.pending_2fa: dict[int, int] = {}  # auth_key_id -> user id awaiting checkPassword
        self.uploads: dict[tuple[int, int], dict[int, bytes]] = {}  # (user, file_id) -> parts

    # -- plumbing used by the protocol layer and helper modules ------------------------------------------

    def attach(self, server: Any) -> None:
        """Connect the world to the running protocol server (pushes, presence, limits)."""
        self.net.server = server
        # Persona replies are scheduled on the server's loop (the control API may call from elsewhere).
        self.personas.loop = getattr(server, "loop", None)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in TRANSIENT}

    def __setstate__(self, state: dict) -> None:
        state.setdefault("chats", {})  # worlds saved before basic groups existed
        state.setdefault("invites", {})
        self.__dict__.update(state)
        self._init_transient()

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # -- control API: users ----------------------------------------------------------------------------

    def create_user(
        self,
        phone: str,
        first_name: str,
        last_name: str = "",
        username: str | None = None,
        password: str | None = None,
        persona: dict | None = None,
        about: str = "",
        restricted_privacy: bool = False,
    ) -> int:
        """Create an account; ``password`` turns on 2FA; ``persona`` is set_persona's kwargs."""
        phone = normalize_phone(phone)
        if phone in self.phones:
            raise ValueError(f"phone {phone} already registered")
        if username is not None:
            self._claim_username(username)
        now = int(time.time())
        user = User(
            id=self._new_id(),
            phone=phone,
            first_name=first_name,
            last_name=last_name,
            username=username,
            about=about,
            created=now,
            last_seen=now - self.rng.randint(60, 86_400 * 3),
            restricted_privacy=restricted_privacy,
        )
        if password:
            user.password = make_password(password)
        self.users[user.id] = user
        self.phones[phone] = user.id
        if username:
            self.usernames[username.lower()] = user.id
        if persona:
            self.set_persona(user.id, **persona)
        return user.id

    def service_notify(self, user_id: int, text: str) -> int:
        """A message from Telegram's service account (777000) to the user, as Telegram delivers login codes
        and security notices to an account's logged-in sessions. Returns the user's message id."""
        if SERVICE_USER_ID not in self.users:
            self.users[SERVICE_USER_ID] = User(
                id=SERVICE_USER_ID, phone=SERVICE_PHONE, first_name="Telegram", created=int(time.time())
            )
        msg, _ = chatops.send(self, SERVICE_USER_ID, user_id, text)
        assert msg.twin is not None
        return msg.twin[1]

    def _claim_username(self, username: str) -> None:
        if not valid_username(username):
            raise ValueError(f"invalid username {username!r}")
        if username.lower() in self.usernames:
            raise ValueError(f"username {username!r} taken")

    def bulk_create_users(
        self, count: int, prefix: str = "member", phone_prefix: str = "4470", usernames: bool = True
    ) -> list[int]:
        """Create ``count`` plain users fast (no 2FA, no persona): realistic names, unique phones,
        usernames ``<prefix>_<name><n>``."""
        from tgsim.demo import bulk_users

        return bulk_users(self, count, prefix, phone_prefix, usernames)

    def set_user(self, user_id: int, **fields: Any) -> dict:
        """Change flags or names: deleted, banned, restricted_privacy, first_name, last_name, about,
        username (None clears), password (None removes 2FA)."""
        user = self.users[user_id]
        for key, value in fields.items():
            if key == "username":
                if user.username:
                    self.usernames.pop(user.username.lower(), None)
                if value:
                    self._claim_username(value)
                    self.usernames[value.lower()] = user_id
                user.username = value or None
            elif key == "password":
                user.password = make_password(value) if value else None
            elif key in ("deleted", "banned", "restricted_privacy", "first_name", "last_name", "about"):
                setattr(user, key, value)
            else:
                raise ValueError(f"unknown user field {key}")
        return self.user_info(user_id)

    def block(self, user_id: int, blocked_id: int, blocked: bool = True) -> bool:
        (self.users[user_id].blocked.add if blocked else self.users[user_id].blocked.discard)(blocked_id)
        return True

    def set_persona(
        self,
        user_id: int,
        reply_probability: float = 0.5,
        delay_min: float = 5.0,
        delay_max: float = 60.0,
        texts: list[str] | None = None,
        writes_first: bool | list[int] = False,
    ) -> bool:
        """Script a user: it answers DMs with ``reply_probability`` after delay_min..delay_max seconds,
        saying one of ``texts``. ``writes_first`` is a list of user ids it messages first (after a delay),
        or True for every user signed in right now (the demo's operators)."""
        if writes_first is True:
            targets = [u for u in self.users if u != user_id and self.net.is_online(u)]
        else:
            targets = list(writes_first or [])
        self.users[user_id].persona = Persona(
            reply_probability=reply_probability,
            delay_min=delay_min,
            delay_max=delay_max,
            texts=list(texts or []),
            writes_first=targets,
        )
        if targets:
            self.personas.write_first(user_id)
        return True

    def user_by_phone(self, phone: str) -> dict | None:
        uid = self.phones.get(normalize_phone(phone))
        return self.user_info(uid) if uid else None

    def user_by_username(self, username: str) -> dict | None:
        uid = self.usernames.get(username.lstrip("@").lower())
        return self.user_info(uid) if uid in self.users else None

    def user_info(self, user_id: int) -> dict:
        u = self.users[user_id]
        return {
            "id": u.id,
            "phone": u.phone,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "username": u.username,
            "deleted": u.deleted,
            "banned": u.banned,
            "has_2fa": u.password is not None,
            "restricted_privacy": u.restricted_privacy,
            "persona": u.persona is not None,
            "pts": u.pts,
            "contacts": sorted(u.contacts),
            "channels": sorted(u.channels),
        }

    def login_code(self, phone: str) -> str | None:
        """The last login code "sent" to a phone (what the SMS would have said)."""
        code = self.codes.get(normalize_phone(phone))
        return code.code if code else None

    # -- control API: groups and channels ----------------------------------------------------------------

    def create_group(
        self,
        title: str,
        owner_id: int,
        members: list[int] | None = None,
        megagroup: bool = True,
        hidden_members: bool = False,
        username: str | None = None,
        admins: list[int] | None = None,
    ) -> int:
        """A supergroup, or with megagroup=False a basic group (no username, no hidden members; every
        message copied into each member's box)."""
        if not megagroup:
            group = groupops.create(self, title, owner_id, list(members or []))
            for uid in admins or []:
                groupops.add(self, group, uid, inviter=owner_id, role="admin")
            return group.id
        return self._create(title, owner_id, members, False, hidden_members, username, admins)

    def create_channel(
        self,
        title: str,
        owner_id: int,
        username: str | None = None,
        broadcast: bool = True,
        members: list[int] | None = None,
    ) -> int:
        return self._create(title, owner_id, members, broadcast, False, username, None)

    def _create(self, title, owner_id, members, broadcast, hidden, username, admins) -> int:
        if username is not None:
            self._claim_username(username)
        now = int(time.time())
        channel = Channel(
            id=self._new_id(),
            title=title,
            creator=owner_id,
            date=now,
            broadcast=broadcast,
            username=username,
            hidden_members=hidden,
            last_activity=now,
        )
        self.channels[channel.id] = channel
        if username:
            self.usernames[username.lower()] = channel.id
        channelops.join(self, channel, owner_id, role="creator", date=now - 86_400 * 30)
        for uid in admins or []:
            channelops.join(self, channel, uid, role="admin", inviter=owner_id)
        self.add_members(channel.id, members or [])
        return channel.id

    def add_members(self, chat_id: int, user_ids: list[int]) -> int:
        """Join users to a group/channel (join dates spread over the past, oldest first)."""
        if chat_id in self.chats:
            return sum(groupops.add(self, self.chats[chat_id], uid) for uid in user_ids)
        channel = self.channels[chat_id]
        now = int(time.time())
        n = len(user_ids)
        added = 0
        for i, uid in enumerate(user_ids):
            date = now - (n - i) * 60
            added += channelops.join(self, channel, uid, inviter=channel.creator, date=date)
        return added

    def remove_member(self, chat_id: int, user_id: int, kick: bool = False) -> bool:
        if chat_id in self.chats:
            return groupops.remove(self, self.chats[chat_id], user_id)
        channel = self.channels[chat_id]
        if kick:
            channel.kicked.add(user_id)
        return channelops.leave(self, channel, user_id)

    def archive(self, user_id: int, peer_id: int, archived: bool = True) -> bool:
        """The user archives a chat from another device (Telegram's peer folder 1), or brings it back;
        the user's sessions get updateFolderPeers."""
        moves = [(peer_id, 1 if archived else 0)]
        set_folder(self, user_id, peer_id, moves[0][1])
        bump_user(self, user_id, "folder", moves)
        push_user_event(self, user_id, self.users[user_id].events[-1])
        return True

    def invite_link(self, chat_id: int) -> str:
        """The group's join link (created on first use), e.g. https://t.me/+AbC...; joinable by
        messages.importChatInvite even when the group is private."""
        channel = self.channels[chat_id]
        if not channel.invite_hash:
            channel.invite_hash = "".join(self.rng.choices(_INVITE_ALPHABET, k=16))
            self.invites[channel.invite_hash] = chat_id
        return f"https://t.me/+{channel.invite_hash}"

    def promote(self, chat_id: int, user_id: int) -> bool:
        channel = self.channels[chat_id]
        channelops.join(self, channel, user_id, inviter=channel.creator)
        channel.members[user_id].role = "admin"
        return True

    # -- control API: traffic ----------------------------------------------------------------------------

    def say(
        self, from_user_id: int, to_user_id: int | None = None, to_chat_id: int | None = None, text: str = ""
    ) -> int:
        """A user without a client writes something; receivers get it pushed like any message.
        Returns the sender-side message id (or the channel message id)."""
        if to_chat_id is not None and to_chat_id in self.chats:
            group = self.chats[to_chat_id]
            groupops.add(self, group, from_user_id)
            return groupops.post(self, group, from_user_id, text)[0].id
        if to_chat_id is not None:
            channel = self.channels[to_chat_id]
            if channel.megagroup:
                channelops.join(self, channel, from_user_id)  # speaking in a group implies being in it
            msg, _ = channelops.post(self, channel, from_user_id, text)
            return msg.id
        if to_user_id is None:
            raise ValueError("say() needs to_user_id or to_chat_id")
        msg, _ = chatops.send(self, from_user_id, to_user_id, text)
        return msg.id

    def messages_between(self, a: int, b: int) -> list[dict]:
        """The private chat as ``a`` sees it, oldest first."""
        user = self.users[a]
        return [self._summary(user.box[i]) for i in user.history.get(b, [])]

    def channel_messages(self, chat_id: int, limit: int = 100) -> list[dict]:
        channel = self.channels[chat_id]
        ids = sorted(channel.messages)[-limit:]
        return [self._summary(channel.messages[i]) for i in ids]

    def _summary(self, msg: Message) -> dict:
        media = self.media.get(msg.media) if msg.media is not None else None
        return msg.summary(media.kind if media else None)

    def dialog_state(self, user_id: int, peer_id: int) -> dict:
        """Read state of one dialog as ``user_id`` sees it."""
        return read_state(self, user_id, peer_id)

    def reset_counters(self, user_id: int | None = None) -> bool:
        """Forget PEER_FLOOD and resolveUsername budgets (all users, or one)."""
        for user in [self.users[user_id]] if user_id else self.users.values():
            user.first_contacts.clear()
            user.resolves.clear()
        return True

    def stats(self) -> dict:
        return {
            "users": len(self.users),
            "channels": sum(1 for c in self.channels.values() if c.broadcast),
            "groups": sum(1 for c in self.channels.values() if c.megagroup),
            "basic_groups": len(self.chats),
            "private_messages": sum(len(u.box) for u in self.users.values()),
            "channel_messages": sum(len(c.messages) for c in self.channels.values()),
            "personas": sum(1 for u in self.users.values() if u.persona),
            "media": len(self.media),
        }

    # -- control API: persistence ------------------------------------------------------------------------

    def save(self, path: str) -> dict:
        from tgsim.storage import save

        return save(self, path)

    @classmethod
    def load(cls, path: str) -> World:
        from tgsim.storage import load

        return load(path)
