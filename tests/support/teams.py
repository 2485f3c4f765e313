"""Team test helpers: presence, and messages that arrive as a session host stores them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.models import Account
from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
from crm.models import User
from inbox import store
from inbox.models import Conversation
from inbox.records import Batch
from teams.models import Member

_people = itertools.count(7001)


def online(*users: User) -> None:
    User.objects.filter(pk__in=[u.pk for u in users]).update(last_seen_at=timezone.now())


def offline(*users: User) -> None:
    User.objects.filter(pk__in=[u.pk for u in users]).update(last_seen_at=timezone.now() - timedelta(hours=1))


def record(account: Account, *, person: int | None = None, text: str = "Hello", at: datetime | None = None,
           kind: str = "private", out: bool = False, telegram_id: int = 1) -> MessageRecord:  # fmt: skip
    """An inbound (or outbound) message from a person (a new one unless named) to ``account``."""
    person = person or next(_people)
    user = UserInfo(telegram_id=person, access_hash=person * 3, first_name=f"Person {person}")
    if kind == "channel":
        peer = PeerInfo(peer_id=-(10**12) - person, kind="channel", title=f"Channel {person}")
    else:
        peer = PeerInfo(peer_id=person, kind=kind, title=user.first_name, user=user)
    return MessageRecord(
        account_id=account.pk,
        peer=peer,
        telegram_id=telegram_id,
        out=out,
        date=at or datetime.now(UTC),
        text=text,
        sender=None if out else user,
        sender_name="" if out else user.first_name,
    )


def arrive(account: Account, **kwargs) -> Conversation:
    """Store one message as a session host does; returns its conversation (fresh from the database)."""
    message = record(account, **kwargs)
    store.ingest(Batch(messages=[message]))
    return Conversation.objects.get(account=account, peer_id=message.peer.peer_id)


def capacity(member: Member, value: int) -> None:
    Member.objects.filter(pk=member.pk).update(capacity=value)
