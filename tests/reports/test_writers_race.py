"""The reports' rollups are kept inside every statement that writes messages, so every writer locks a
conversation's row before its messages. Writers of the same conversations at the same moment —
ingestion storing into the stranger's chat and the admin chat in either order, deletions from the
stranger's chat, and a pairing decision from the admin chat writing its answer to the stranger — must
all commit, none deadlocked, and the rollups must still equal the messages."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts.models import Account
from accounts.telegram.records import Deletion, MessageRecord, PeerInfo, UserInfo
from automation import services
from automation.models import AutomationSettings, Judgement, PairingRequest
from inbox import store
from inbox.models import Conversation, Message
from inbox.records import Batch
from tests.reports.test_rollups import _rollups_match_events, _rollups_match_messages

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 30
BATCHES = 6  # ingestion batches per round, each storing into both chats
_ids = itertools.count(500_000)


def _person(telegram_id: int, username: str) -> PeerInfo:
    user = UserInfo(telegram_id=telegram_id, access_hash=telegram_id * 3, first_name=username.title(),
                    username=username)  # fmt: skip
    return PeerInfo(peer_id=telegram_id, kind="private", title=user.first_name, username=username, user=user)


def _inbound(account: Account, peer: PeerInfo, text: str, *, reply_to: int | None = None) -> MessageRecord:
    return MessageRecord(
        account_id=account.pk, peer=peer, telegram_id=next(_ids), out=False, date=datetime.now(UTC),
        text=text, sender=peer.user, reply_to_id=reply_to,
    )  # fmt: skip


def _stored(account: Account, record: MessageRecord) -> Message:
    store.ingest(Batch(messages=[record]))
    return Message.objects.get(conversation__account=account, telegram_id=record.telegram_id)


def _together(*calls) -> list[BaseException]:
    """Run each call in its own thread (its own connection), released at the same moment; their errors."""
    start, errors = threading.Barrier(len(calls)), []

    def run(call) -> None:
        try:
            start.wait()
            call()
        except BaseException as error:  # handed to the test, which fails on any
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting after 60 s"
    return errors


def test_ingestion_into_both_chats_and_a_pairing_decision_all_commit_without_deadlock(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    AutomationSettings.objects.create(account=account, admin_chat="@boss")
    boss = _person(7_700_001, "boss")
    _stored(account, _inbound(account, boss, "the admin chat"))
    for round_no in range(ROUNDS):
        _race(
            account, boss, _person(7_800_000 + round_no, f"stranger{round_no}"), announced=90_000 + round_no
        )
    _rollups_match_messages()
    _rollups_match_events()


def _race(account: Account, boss: PeerInfo, stranger: PeerInfo, *, announced: int) -> None:
    """One round: the stranger asks, the admin denies in the admin chat; judging that denial (which
    answers the stranger) runs at the same moment as the other writers of both chats."""
    asked = _stored(account, _inbound(account, stranger, "let me in"))
    services.messages_judge(message_ids=[asked.pk])
    request = PairingRequest.objects.get(account=account, sender_id=stranger.peer_id)
    PairingRequest.objects.filter(pk=request.pk).update(announced_message_id=announced)
    deny = _stored(account, _inbound(account, boss, "deny", reply_to=announced))
    doomed = [_stored(account, _inbound(account, stranger, "to delete")) for _ in range(BATCHES)]

    def ingest_both(first: PeerInfo, second: PeerInfo) -> None:
        for n in range(BATCHES):
            store.ingest(
                Batch(messages=[_inbound(account, first, f"a{n}"), _inbound(account, second, f"b{n}")])
            )

    def delete_one_by_one() -> None:
        """Deletions alone: no new message of the chat is stored (and locks its conversation) first."""
        for message in doomed:
            store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(message.telegram_id,))]))

    errors = _together(
        lambda: services.messages_judge(message_ids=[deny.pk]),
        lambda: ingest_both(stranger, boss),
        lambda: ingest_both(boss, stranger),
        delete_one_by_one,
    )
    assert errors == []
    assert PairingRequest.objects.get(pk=request.pk).status == PairingRequest.Status.DENIED
    assert Judgement.objects.get(pk=deny.pk).reason == "pairing decision"
    chat = Conversation.objects.get(account=account, peer_id=stranger.peer_id)
    assert chat.messages.filter(direction="in", deleted=False).count() == 1 + 2 * BATCHES
    assert chat.messages.filter(direction="in", deleted=True).count() == BATCHES
    assert chat.messages.filter(direction="out", automation="pairing").count() == 2  # asked, denied
