from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from accounts.models import AccountEvent
from accounts.telegram.records import SERVICE_USER_ID, Deletion, MessageRecord, PeerInfo, ReadMark, UserInfo
from inbox import signals, store
from inbox.models import Contact, Conversation, Message
from inbox.records import Batch

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALICE = UserInfo(telegram_id=501, access_hash=77, first_name="Alice", username="alice")
CHANNEL = -1000000000900


def private(account, telegram_id, text, *, out=False, at=T0, edited=None):
    peer = PeerInfo(peer_id=ALICE.telegram_id, kind="private", title="Alice", username="alice", user=ALICE)
    return MessageRecord(
        account_id=account.pk,
        peer=peer,
        telegram_id=telegram_id,
        out=out,
        date=at,
        text=text,
        sender=None if out else ALICE,
        sender_name="" if out else "Alice",
        edited_at=edited,
    )


def in_channel(account, telegram_id, text):
    peer = PeerInfo(peer_id=CHANNEL, kind="group", title="Buyers")
    return MessageRecord(
        account_id=account.pk,
        peer=peer,
        telegram_id=telegram_id,
        out=False,
        date=T0,
        text=text,
        sender=ALICE,
        sender_name="Alice",
    )


@pytest.fixture
def account(make_account):
    return make_account(status="active")


def test_storing_the_same_batch_twice_changes_nothing(account):
    batch = Batch(
        messages=[private(account, 1, "hi"), private(account, 2, "there", at=T0 + timedelta(seconds=1))]
    )
    assert store.ingest(batch) == {account.pk}
    store.ingest(batch)
    conversation = Conversation.objects.get(account=account)
    assert conversation.messages.count() == 2
    assert conversation.unread_count == 2
    assert conversation.last_message_preview == "there"
    assert Contact.objects.get().first_name == "Alice"
    assert account.contact_hashes.get().access_hash == 77


def test_a_replayed_older_version_never_overwrites_an_edit(account):
    store.ingest(Batch(messages=[private(account, 1, "v2", edited=T0 + timedelta(minutes=5))]))
    store.ingest(Batch(messages=[private(account, 1, "v1")]))
    store.ingest(Batch(messages=[private(account, 1, "v0", edited=T0 + timedelta(minutes=1))]))
    assert Message.objects.get().text == "v2"


def test_the_newest_message_gives_the_preview_even_within_one_second(account):
    store.ingest(Batch(messages=[private(account, 1, "first"), private(account, 2, "second")]))
    store.ingest(Batch(messages=[private(account, 1, "first, edited", edited=T0 + timedelta(seconds=5))]))
    assert Conversation.objects.get().last_message_preview == "second"


def test_ingestion_writes_the_preview_by_the_one_rule(account):
    photo = replace(private(account, 1, " a\n photo "), media_kind="photo")
    store.ingest(Batch(messages=[photo]))
    assert Conversation.objects.get().last_message_preview == store.preview_text(" a\n photo ", out=False)
    store.ingest(Batch(messages=[replace(private(account, 2, "", out=True), media_kind="photo")]))
    assert Conversation.objects.get().last_message_preview == "You: [photo]"


def test_private_deletions_never_touch_channel_messages_with_the_same_id(account):
    store.ingest(
        Batch(messages=[private(account, 7, "private seven"), in_channel(account, 7, "channel seven")])
    )
    store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(7,))]))
    assert list(Message.objects.filter(deleted=True).values_list("text", flat=True)) == ["private seven"]
    store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(7,), channel_peer_id=CHANNEL)]))
    assert Message.objects.filter(deleted=True).count() == 2


def test_read_marks_update_unread_counts_and_receipts(account):
    store.ingest(
        Batch(
            messages=[private(account, n, f"m{n}") for n in (1, 2, 3)] + [private(account, 4, "ok", out=True)]
        )
    )
    store.ingest(
        Batch(
            reads=[
                ReadMark(account_id=account.pk, peer_id=ALICE.telegram_id, max_id=2, outbox=False),
                ReadMark(account_id=account.pk, peer_id=ALICE.telegram_id, max_id=4, outbox=True),
            ]
        )
    )
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 1
    assert conversation.read_outbox_max_id == 4


def test_a_new_inbound_message_reopens_a_closed_conversation_but_our_own_does_not(account):
    store.ingest(Batch(messages=[private(account, 1, "hi")]))
    Conversation.objects.update(state="closed")
    store.ingest(Batch(messages=[private(account, 2, "sent from my phone", out=True)]))
    assert Conversation.objects.get().state == "closed"
    store.ingest(Batch(messages=[private(account, 3, "hello again")]))
    assert Conversation.objects.get().state == "open"


def test_text_with_nul_characters_is_stored_without_them(account):
    store.ingest(Batch(messages=[private(account, 1, "bad\x00byte")]))
    assert Message.objects.get().text == "badbyte"


def test_nul_characters_anywhere_in_a_message_are_cleaned_and_the_batch_is_stored_whole(account):
    evil = UserInfo(telegram_id=502, access_hash=78, first_name="Ev\x00e", last_name="N\x00ul")
    peer = PeerInfo(peer_id=CHANNEL, kind="group", title="Buy\x00ers")
    nul = MessageRecord(
        account_id=account.pk,
        peer=peer,
        telegram_id=7,
        out=False,
        date=T0,
        text="see\x00 here",
        sender=evil,
        sender_name="Ev\x00e N\x00ul",
        entities=[{"type": "texturl", "offset": 0, "length": 3, "url": "https://x.test/\x00a"}],
        media_kind="document",
        media={"name": "plan\x00.pdf", "mime_type": "application/pdf", "size": 3, "nested": ["a\x00"]},
    )
    store.ingest(Batch(messages=[private(account, 1, "fine"), nul]))

    stored = Message.objects.get(telegram_id=7)
    assert stored.text == "see here"
    assert stored.sender_name == "Eve Nul"
    assert stored.entities[0]["url"] == "https://x.test/a"
    assert stored.media["name"] == "plan.pdf" and stored.media["nested"] == ["a"]
    assert stored.conversation.title == "Buyers"
    assert (stored.sender.first_name, stored.sender.last_name) == ("Eve", "Nul")
    assert Message.objects.get(telegram_id=1).text == "fine"


def test_messages_from_telegrams_service_account_go_to_the_account_history_once_and_never_to_the_inbox(
    account,
):
    telegram = PeerInfo(peer_id=SERVICE_USER_ID, kind="private", title="Telegram")
    notice = MessageRecord(
        account_id=account.pk, peer=telegram, telegram_id=3, out=False, date=T0, text="Login code: •••••."
    )
    store.ingest(Batch(messages=[notice, private(account, 1, "hi")]))
    store.ingest(Batch(messages=[notice]))  # replayed by a catch-up
    store.conversations_ensure(account_id=account.pk, peers=[telegram])  # the backfill's dialog list

    assert list(Conversation.objects.values_list("peer_id", flat=True)) == [ALICE.telegram_id]
    assert not Contact.objects.filter(telegram_id=SERVICE_USER_ID).exists()
    [event] = account.events.filter(kind=AccountEvent.Kind.SERVICE_NOTIFICATION)
    assert event.detail == {"telegram_id": 3, "text": "Login code: •••••."} and event.at == T0


def test_service_notifications_are_masked_as_they_are_converted():
    from telethon import types

    from accounts.telegram import messages

    raw = types.Message(
        id=9, peer_id=types.PeerUser(SERVICE_USER_ID), date=T0, message="Login code: 40917. Do not give it"
    )
    record = messages.message_record(1, raw)
    assert record is not None and record.is_service_notification
    assert record.text == "Login code: •••••. Do not give it"


def test_a_service_conversation_stored_before_the_fix_moves_to_the_account_history_masked(account):
    import importlib

    from django.apps import apps

    from tests.support.inbox import conversation_make

    conversation_make(
        account, title="Telegram", peer_id=SERVICE_USER_ID, texts=("Login code: 40917. Do not give it",)
    )
    migration = importlib.import_module("inbox.migrations.0005_service_notifications")
    migration.service_conversations_to_account_history(apps, None)

    assert not Conversation.objects.filter(peer_id=SERVICE_USER_ID).exists()
    [event] = account.events.filter(kind=AccountEvent.Kind.SERVICE_NOTIFICATION)
    assert event.detail == {"telegram_id": 1, "text": "Login code: •••••. Do not give it"}


def test_item_by_item_storage_skips_only_what_postgresql_refuses(account):
    too_big = private(account, 2**63, "an id PostgreSQL cannot hold")  # out of bigint range
    touched, skipped = store.ingest_each(Batch(messages=[private(account, 1, "fine"), too_big]))
    assert (touched, skipped) == ({account.pk}, 1)
    assert list(Message.objects.values_list("text", flat=True)) == ["fine"]


def test_stored_messages_are_reported_once_each_inside_the_storing_transaction(account):
    reports: list[dict] = []

    def receiver(sender, signal, **lists):
        # Sent inside the storing transaction: the rows are visible here and commit with a receiver's own.
        assert transaction.get_connection().in_atomic_block
        assert Message.objects.filter(pk__in=[pk for ids in lists.values() for pk in ids]).count() == sum(
            map(len, lists.values())
        )
        reports.append(lists)

    signals.messages_stored.connect(receiver)
    try:
        batch = Batch(messages=[private(account, 1, "hi"), private(account, 2, "ours", out=True)])
        store.ingest(batch)
        store.ingest(batch)  # seen twice, stored (and reported) once
        store.ingest(Batch(messages=[private(account, 1, "hi!", edited=T0 + timedelta(minutes=1))]))
        store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(2,))]))
        store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(2,))]))
    finally:
        signals.messages_stored.disconnect(receiver)
    hi, ours = (Message.objects.get(telegram_id=t).pk for t in (1, 2))
    assert reports == [
        {"received": [hi], "sent": [ours], "edited": [], "deleted": []},
        {"received": [], "sent": [], "edited": [hi], "deleted": []},
        {"received": [], "sent": [], "edited": [], "deleted": [ours]},
    ]
