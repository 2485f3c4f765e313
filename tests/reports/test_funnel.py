from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account
from accounts.telegram.records import ReadMark
from inbox import store
from inbox.records import Batch
from outreach import services
from outreach.models import Recipient, Send
from reports.selectors import FunnelRow, Period, funnel, wilson_interval
from reports.tables import funnel_table
from tests.reports.timeline import Chat
from tests.support import outreach as build

pytestmark = pytest.mark.django_db

_random_ids = itertools.count(9_000_000)


def _week() -> Period:
    """The last seven days, as of now (not of import time: a long suite runs long after collection)."""
    now = datetime.now(UTC)
    return Period(key="7d", start=now - timedelta(days=7), end=now + timedelta(minutes=1))


PRIVACY = "The recipient's privacy settings do not allow this"
BLOCKED = "The recipient blocked this account"


def _send(campaign, recipient, account, *, step, variant="0.1", text="Hi there"):
    now = datetime.now(UTC)
    return Send.objects.create(
        campaign=campaign, recipient=recipient, account=account, step=step, day=now.date(),
        due_at=now - timedelta(hours=1), random_id=next(_random_ids), variant=variant, text=text,
    )  # fmt: skip


@pytest.fixture
def sender(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Sender A")
    return account


def test_the_funnel_counts_reads_from_receipts_and_credits_replies_to_the_last_step_sent(sender, admin_user):
    people = build.contacts(5)
    campaign = build.campaign(build.audience(people), [sender], follow_ups=[build.follow_up(60)])
    recipients = [Recipient.objects.create(campaign=campaign, contact=c, account=sender) for c in people]
    r1, r2, r3, r4, r5 = recipients
    for recipient, message_id in ((r1, 11), (r2, 12), (r3, 13)):
        services.send_done(send_id=_send(campaign, recipient, sender, step=0).pk, message_id=message_id)
    services.send_done(
        send_id=_send(campaign, r1, sender, step=1, variant="", text="Checking in").pk, message_id=21
    )
    _send(campaign, r2, sender, step=1, variant="")  # still planned
    for recipient, reason in ((r4, PRIVACY), (r5, BLOCKED)):
        services.send_failed(
            send_id=_send(campaign, recipient, sender, step=0).pk, account_id=sender.pk, reason=reason
        )
    reads = [(people[0], 21), (people[1], 12)]  # r1 read both messages, r2 its first, r3 nothing
    store.ingest(
        Batch(
            reads=[
                ReadMark(account_id=sender.pk, peer_id=c.telegram_id, max_id=m, outbox=True) for c, m in reads
            ]
        )
    )
    replied_at = datetime.now(UTC)  # after every send above
    Chat(sender, telegram_id=people[0].telegram_id).inbound(replied_at, telegram_id=30)  # after the follow-up
    Chat(sender, telegram_id=people[1].telegram_id).inbound(replied_at, telegram_id=31)  # after the first one

    week = _week()
    by_step = {row.name.rsplit(" ", 1)[-1]: row for row in funnel(user=admin_user, period=week, by="step")}
    [total] = funnel(user=admin_user, period=week, by="campaign")
    [by_sender] = funnel(user=admin_user, period=week, by="sender")

    first, second = by_step["0"], by_step["1"]
    assert (first.planned, first.sent, first.delivered, first.read, first.replied) == (5, 3, 3, 2, 1)
    assert (first.failed["privacy"], first.failed["blocked"], first.failed["other"]) == (1, 1, 0)
    assert (second.planned, second.sent, second.read, second.replied) == (2, 1, 1, 1)
    assert (total.planned, total.sent, total.read, total.replied, total.failed_total) == (7, 4, 3, 2, 2)
    assert (by_sender.name, by_sender.sent) == ("Sender A", 4)
    variants = funnel(user=admin_user, period=week, by="variant")
    assert {row.example for row in variants} == {"Hi there", "Checking in"}


def test_reply_rates_show_a_wilson_interval_only_from_a_hundred_sends():
    assert wilson_interval(10, 100) == pytest.approx((0.05523, 0.17437), abs=1e-4)
    assert wilson_interval(0, 0) is None
    few, enough = (
        FunnelRow(key="a", name="few", sent=99, replied=50),
        FunnelRow(key="b", name="ok", sent=100, replied=10),
    )

    table = funnel_table([few, enough])
    rate, low, high = (
        table.headers.index(h) for h in ("Reply rate", "Reply rate low (95 %)", "Reply rate high (95 %)")
    )

    assert [table.rows[0][i] for i in (rate, low, high)] == [None, None, None]
    assert table.rows[1][rate] == 0.1
    assert table.rows[1][low] == pytest.approx(0.05523, abs=1e-4)
