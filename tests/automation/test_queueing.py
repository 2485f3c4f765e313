"""Storing received messages queues their judging after the storing transaction commits, on this test
run's own default queue (never the shared "default" a running demo's worker consumes)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
from automation import tasks
from inbox import store
from inbox.records import Batch

pytestmark = pytest.mark.django_db(transaction=True)


def record_from_sam(account_id: int, telegram_id: int = 1) -> MessageRecord:
    sam = UserInfo(telegram_id=9191, access_hash=1, username="sam", first_name="Sam")
    return MessageRecord(
        account_id=account_id,
        peer=PeerInfo(peer_id=9191, kind="private", title="Sam", user=sam),
        telegram_id=telegram_id,
        out=False,
        date=datetime.now(UTC),
        text="hi",
        sender=sam,
    )


def test_a_broker_that_refuses_the_task_never_fails_the_storing(make_account, monkeypatch):
    from inbox.models import Message

    account = make_account()

    def refuse(ids):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.messages_judge, "delay", refuse)
    store.ingest(Batch(messages=[record_from_sam(account.pk)]))
    assert Message.objects.filter(conversation__account=account, text="hi").exists()


def test_received_messages_are_queued_for_judging_once_stored(make_account, monkeypatch):
    account = make_account()
    queued: list[tuple[list[int], str]] = []
    monkeypatch.setattr(
        tasks.messages_judge,
        "delay",
        lambda ids: queued.append((ids, tasks.messages_judge.app.conf.task_default_queue)),
    )
    record = record_from_sam(account.pk)
    store.ingest(Batch(messages=[record]))
    store.ingest(Batch(messages=[record]))  # stored once, so queued once
    assert len(queued) == 1
    ids, queue = queued[0]
    assert len(ids) == 1 and queue == os.environ["CELERY_DEFAULT_QUEUE"] != "default"
