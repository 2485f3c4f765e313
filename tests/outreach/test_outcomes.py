"""What became of campaign sends, recorded as it is ingested: read when the recipient's read receipt
covers the message; replied, for the last send before the first inbound message after the recipient's
first campaign message."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Account
from accounts.telegram.records import ReadMark
from inbox import store
from inbox.records import Batch
from outreach import services
from outreach.models import Recipient, Send
from outreach.outcomes import reads_record, replies_credit
from tests.reports.timeline import Chat
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

_random_ids = itertools.count(8_000_000)
NOW = datetime.now(UTC)


def _send(campaign, recipient, account, *, step):
    return Send.objects.create(
        campaign=campaign, recipient=recipient, account=account, step=step, day=NOW.date(),
        due_at=NOW - timedelta(hours=1), random_id=next(_random_ids), variant=f"0.{step}",
    )  # fmt: skip


@pytest.fixture
def sender(make_account):
    return make_account(status=Account.Status.ACTIVE)


def _setup(sender, n=1, follow_ups=1):
    people = build.contacts(n, prefix=f"credit{next(_random_ids)}-")
    campaign = build.campaign(
        build.audience(people),
        [sender],
        follow_ups=[build.follow_up(60 * (k + 1)) for k in range(follow_ups)],
    )
    recipients = [Recipient.objects.create(campaign=campaign, contact=c, account=sender) for c in people]
    return campaign, people, recipients


def _replied(recipient) -> dict[int, datetime | None]:
    return dict(Send.objects.filter(recipient=recipient).values_list("step", "replied_at"))


def test_the_reply_is_credited_to_the_last_step_sent_before_it_when_it_is_ingested(sender):
    campaign, [person], [recipient] = _setup(sender)
    chat = Chat(sender, telegram_id=person.telegram_id)
    chat.inbound(NOW - timedelta(days=1), telegram_id=5)  # before the campaign wrote: not a reply
    services.send_done(send_id=_send(campaign, recipient, sender, step=0).pk, message_id=10)
    services.send_done(send_id=_send(campaign, recipient, sender, step=1).pk, message_id=20)
    assert _replied(recipient) == {0: None, 1: None}

    answered = NOW + timedelta(minutes=5)
    chat.inbound(answered, telegram_id=21)
    assert _replied(recipient) == {0: None, 1: answered}

    chat.inbound(answered + timedelta(hours=1), telegram_id=22)  # a second message is not a new reply
    assert _replied(recipient) == {0: None, 1: answered}


def test_a_reply_between_steps_stays_with_the_step_it_answered(sender):
    campaign, [person], [recipient] = _setup(sender)
    chat = Chat(sender, telegram_id=person.telegram_id)
    services.send_done(send_id=_send(campaign, recipient, sender, step=0).pk, message_id=10)
    chat.inbound(NOW, telegram_id=11)
    services.send_done(send_id=_send(campaign, recipient, sender, step=1).pk, message_id=20)
    assert _replied(recipient) == {0: NOW, 1: None}


def test_a_reply_ingested_before_its_send_was_recorded_is_credited_when_it_is(sender):
    campaign, [person], [recipient] = _setup(sender)
    send = _send(campaign, recipient, sender, step=0)
    # Telegram delivered the message and the recipient answered before send_done ran.
    Chat(sender, telegram_id=person.telegram_id).inbound(NOW, telegram_id=11)
    assert _replied(recipient)[0] is None
    services.send_done(send_id=send.pk, message_id=10)
    assert _replied(recipient)[0] == NOW


def test_an_earlier_reply_ingested_late_takes_the_credit(sender):
    """Catch-up can store an older message after a newer one: the first reply wins, not the first stored."""
    campaign, [person], [recipient] = _setup(sender)
    chat = Chat(sender, telegram_id=person.telegram_id)
    services.send_done(send_id=_send(campaign, recipient, sender, step=0).pk, message_id=10)
    services.send_done(send_id=_send(campaign, recipient, sender, step=1).pk, message_id=20)
    chat.inbound(NOW + timedelta(hours=2), telegram_id=25)
    chat.inbound(NOW + timedelta(hours=1), telegram_id=15)
    assert _replied(recipient) == {0: NOW + timedelta(hours=1), 1: None}


def _read(account, person, max_id):
    store.ingest(
        Batch(reads=[ReadMark(account_id=account.pk, peer_id=person.telegram_id, max_id=max_id, outbox=True)])
    )


def _read_steps(recipient) -> list[int]:
    return sorted(
        Send.objects.filter(recipient=recipient, read_at__isnull=False).values_list("step", flat=True)
    )


def test_a_read_receipt_marks_read_the_sends_it_covers(sender):
    campaign, [person], [recipient] = _setup(sender)
    Chat(sender, telegram_id=person.telegram_id).inbound(NOW - timedelta(days=1), telegram_id=5)
    services.send_done(send_id=_send(campaign, recipient, sender, step=0).pk, message_id=10)
    services.send_done(send_id=_send(campaign, recipient, sender, step=1).pk, message_id=20)
    _read(sender, person, 15)
    assert _read_steps(recipient) == [0]
    _read(sender, person, 12)  # an older receipt arriving late changes nothing
    assert _read_steps(recipient) == [0]
    _read(sender, person, 20)
    assert _read_steps(recipient) == [0, 1]


def test_a_receipt_that_came_before_the_send_was_recorded_counts_when_it_is(sender):
    campaign, [person], [recipient] = _setup(sender)
    Chat(sender, telegram_id=person.telegram_id).inbound(NOW - timedelta(days=1), telegram_id=5)
    send = _send(campaign, recipient, sender, step=0)
    _read(sender, person, 10)
    services.send_done(send_id=send.pk, message_id=10)
    assert _read_steps(recipient) == [0]


# What the funnel searched for at read time before replies were credited at ingestion.
_SEARCHED = """
WITH replies AS (
    SELECT r.id AS recipient_id, reply.telegram_id AS reply_id
    FROM outreach_recipient r
    JOIN inbox_contact ct ON ct.id = r.contact_id
    JOIN inbox_conversation c ON c.account_id = r.account_id AND c.peer_id = ct.telegram_id
    CROSS JOIN LATERAL (
        SELECT m.telegram_id FROM inbox_message m
        WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.telegram_id > r.first_message_id
        ORDER BY m.telegram_id LIMIT 1
    ) reply
    WHERE r.first_message_id IS NOT NULL
)
SELECT DISTINCT ON (p.recipient_id) s.id
FROM replies p JOIN outreach_send s ON s.recipient_id = p.recipient_id
WHERE s.state = 'sent' AND s.message_id < p.reply_id
ORDER BY p.recipient_id, s.message_id DESC
"""


_RECEIPTS = """
SELECT s.id FROM outreach_send s
JOIN outreach_recipient r ON r.id = s.recipient_id
JOIN inbox_contact ct ON ct.id = r.contact_id
JOIN inbox_conversation c ON c.account_id = s.account_id AND c.peer_id = ct.telegram_id
WHERE s.state = 'sent' AND s.message_id <= c.read_outbox_max_id
"""


def test_credits_equal_the_read_time_search_on_random_timelines(sender):
    rng = random.Random(14)
    campaign, people, recipients = _setup(sender, n=25, follow_ups=2)
    ids = itertools.count(100)
    for person, recipient in zip(people, recipients, strict=True):
        chat = Chat(sender, telegram_id=person.telegram_id)
        for step in range(rng.randint(0, 3)):
            send = _send(campaign, recipient, sender, step=step)
            if rng.random() < 0.2:
                services.send_failed(send_id=send.pk, account_id=sender.pk, reason="privacy")
                break
            message_id = next(ids)
            if rng.random() < 0.3:  # the answer (or an unrelated message) is stored first
                chat.inbound(NOW, telegram_id=message_id + 1)
                next(ids)
            services.send_done(send_id=send.pk, message_id=message_id)
            for _ in range(rng.randint(0, 2)):
                chat.inbound(NOW + timedelta(minutes=rng.randint(1, 100)), telegram_id=next(ids))
            if rng.random() < 0.5:
                _read(sender, person, message_id + rng.randint(-1, 3))
    with connection.cursor() as cursor:
        cursor.execute(_SEARCHED)
        searched = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(_RECEIPTS)
        receipts = sorted(row[0] for row in cursor.fetchall())
    credited = sorted(Send.objects.filter(replied_at__isnull=False).values_list("id", flat=True))
    assert credited == searched and len(credited) > 5
    read = sorted(Send.objects.filter(read_at__isnull=False).values_list("id", flat=True))
    assert read == receipts and len(read) > 5
    # Recording again (what the data migration does for old rows) changes nothing.
    assert replies_credit(recipient_ids=[r.pk for r in recipients]) == 0
    assert reads_record(recipient_ids=[r.pk for r in recipients]) == 0
