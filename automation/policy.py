"""The policy decision: may automation answer this inbound message? Pure: no database, no network.

The caller (``automation.services``) gathers what the decision needs into an ``Inbound`` and the account's
``Rules``; ``decide`` returns a ``Verdict``. In groups the decision reads the message's entities and reply
header, never Telegram's ``mentioned`` flag: Telegram sets that flag on replies too, so it cannot tell a
mention from a reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ADMIT = "admit"
PAIR = "pair"  # an unknown sender under the pairing policy: run pairing
IGNORE = "ignore"


@dataclass(frozen=True)
class Rules:
    """One account's policies and whom it knows."""

    own_id: int | None  # the account's Telegram user id
    own_username: str
    dm_policy: str  # pairing, allowlist, open
    group_policy: str  # mention, reply, both, off
    allowed_ids: frozenset[int] = field(default_factory=frozenset)
    allowed_usernames: frozenset[str] = field(default_factory=frozenset)  # lower case, no "@"

    @staticmethod
    def usernames(names: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in (normal_username(name) for name in names) if n)


@dataclass(frozen=True)
class Inbound:
    """An inbound message as the policies see it."""

    kind: str  # private, group, channel (the conversation's kind)
    sender_id: int | None  # None: not a person (a channel posting, an anonymous group admin)
    sender_username: str
    text: str
    entities: list[dict[str, Any]]
    replies_to_own: bool  # a reply to a message this account sent, in the same conversation
    contacted: bool = False  # the account wrote in this conversation before (a person or a campaign did)
    outgoing: bool = False
    paused: bool = False  # an operator took the conversation over


@dataclass(frozen=True)
class Verdict:
    action: str  # ADMIT, PAIR or IGNORE
    reason: str

    @property
    def admitted(self) -> bool:
        return self.action == ADMIT


def normal_username(name: str) -> str:
    """A username as compared: without "@", lower case (Telegram usernames are case-insensitive)."""
    return name.strip().removeprefix("@").lower()


def decide(message: Inbound, rules: Rules) -> Verdict:
    if message.outgoing or (rules.own_id is not None and message.sender_id == rules.own_id):
        return Verdict(IGNORE, "own message")
    if message.kind == "channel":
        return Verdict(IGNORE, "channel")
    if message.sender_id is None:
        return Verdict(IGNORE, "not from a person")
    if message.paused:
        return Verdict(IGNORE, "taken over")
    if message.kind == "private":
        return _direct(message, rules)
    return _group(message, rules)


def _direct(message: Inbound, rules: Rules) -> Verdict:
    if rules.dm_policy == "open":
        return Verdict(ADMIT, "open")
    if _known(message, rules):
        return Verdict(ADMIT, "allowed")
    if rules.dm_policy == "pairing":
        # Someone the account wrote to first (a campaign's recipient answering, a chat an operator
        # answered) is no stranger asking to be let in: they are answered, never told to wait.
        if message.contacted:
            return Verdict(ADMIT, "contacted")
        return Verdict(PAIR, "unknown sender")
    return Verdict(IGNORE, "not on the allowlist")


def _known(message: Inbound, rules: Rules) -> bool:
    if message.sender_id in rules.allowed_ids:
        return True
    name = normal_username(message.sender_username)
    return bool(name) and name in rules.allowed_usernames


def _group(message: Inbound, rules: Rules) -> Verdict:
    policy = rules.group_policy
    if policy in ("mention", "both") and mentions(message.text, message.entities, rules):
        return Verdict(ADMIT, "mention")
    if policy in ("reply", "both") and message.replies_to_own:
        return Verdict(ADMIT, "reply")
    return Verdict(IGNORE, "group policy off" if policy == "off" else f"no {policy}")


def mentions(text: str, entities: list[dict[str, Any]], rules: Rules) -> bool:
    """Whether the message mentions the account: an @username mention entity naming its username (any
    case), or a mention-name entity naming its user id (people without a username are mentioned so)."""
    own = normal_username(rules.own_username)
    for entity in entities:
        kind = entity.get("type")
        if kind == "mentionname" and rules.own_id is not None and entity.get("user_id") == rules.own_id:
            return True
        if kind == "mention" and own and normal_username(entity_text(text, entity)) == own:
            return True
    return False


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The text an entity covers. Telegram counts offsets and lengths in UTF-16 code units, so an emoji
    before a mention shifts it by two, not one."""
    try:
        offset, length = int(entity["offset"]), int(entity["length"])
    except (KeyError, TypeError, ValueError):
        return ""
    if offset < 0 or length <= 0:
        return ""
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", "replace")
