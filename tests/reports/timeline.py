"""Synthetic conversation timelines for report tests, stored through the inbox's own write paths."""

from __future__ import annotations

import itertools
from datetime import datetime

from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
from inbox import responses, store
from inbox.models import Conversation, Message
from inbox.records import Batch

_ids = itertools.count(1000)


class Chat:
    """A private chat of one account with one person; messages arrive through ingestion (inbound and
    automated outbound) or are written as an operator's reply (what ``reply_send`` stores)."""

    def __init__(self, account, *, telegram_id: int) -> None:
        self.account = account
        self.user = UserInfo(
            telegram_id=telegram_id, access_hash=telegram_id * 7, first_name=f"P{telegram_id}"
        )
        self.peer = PeerInfo(peer_id=telegram_id, kind="private", title=self.user.first_name, user=self.user)

    @property
    def conversation(self) -> Conversation:
        return Conversation.objects.get(account=self.account, peer_id=self.peer.peer_id)

    def _record(self, *, at: datetime, out: bool, telegram_id: int | None = None) -> int:
        telegram_id = telegram_id or next(_ids)
        store.ingest(
            Batch(
                messages=[
                    MessageRecord(
                        account_id=self.account.pk, peer=self.peer, telegram_id=telegram_id, out=out,
                        date=at, text="hello", sender=None if out else self.user,
                    )
                ]
            )
        )  # fmt: skip
        return telegram_id

    def inbound(self, at: datetime, *, telegram_id: int | None = None) -> int:
        return self._record(at=at, out=False, telegram_id=telegram_id)

    def automated(self, at: datetime, *, telegram_id: int | None = None) -> int:
        """Sent without an operator (a campaign, the API, another device): seen only by ingestion."""
        return self._record(at=at, out=True, telegram_id=telegram_id)

    def human(self, at: datetime, *, by) -> Message:
        """An operator's reply at a known time, measured as ``reply_send`` measures it."""
        message = Message.objects.create(
            conversation=self.conversation, direction=Message.Direction.OUT, text="answer", date=at,
            telegram_id=next(_ids), sent_by=by, sender_name=by.username,
        )  # fmt: skip
        responses.replies_record(message_ids=[message.pk])
        return message
