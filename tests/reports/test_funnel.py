from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from accounts.telegram.records import ReadMark
from inbox import store
from inbox.records import Batch
from outreach import services
from outreach.models import Campaign, Recipient, Send
from reports.selectors import FUNNEL_COUNTS, FUNNEL_FLAGS, FunnelRow, Period, funnel, wilson_interval
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


def _send_rollups_match_sends() -> None:
    """Every send rollup row equals the funnel counts of its sends (days in the reports' zone: UTC)."""
    counts = ", ".join(f"sum({c})::int" for c in FUNNEL_COUNTS)
    flags = FUNNEL_FLAGS.replace("%%", "%")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT day, campaign_id, step, variant, account_id, {', '.join(FUNNEL_COUNTS)} "  # noqa: S608
            f"FROM reports_sendday WHERE {' OR '.join(f'{c} <> 0' for c in FUNNEL_COUNTS)} "
            "ORDER BY 1, 2, 3, 4, 5"
        )
        rolled = cursor.fetchall()
        cursor.execute(
            f"""
            SELECT day, campaign_id, step, variant, account_id, {counts} FROM (
                SELECT (COALESCE(s.sent_at, s.due_at) AT TIME ZONE 'UTC')::date AS day, s.campaign_id, s.step,
                       s.variant, s.account_id, {flags}
                FROM outreach_send s
            ) x (day, campaign_id, step, variant, account_id, {", ".join(FUNNEL_COUNTS)})
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            """  # noqa: S608 - constants
        )
        assert rolled == cursor.fetchall()


_send_steps = st.lists(
    st.tuples(
        st.integers(0, 5),  # recipient
        st.integers(0, 2),  # step
        st.floats(-24 * 3, 24 * 9, allow_nan=False),  # due, hours after T
        st.sampled_from(["planned", "sent", "failed", "skipped", "read", "replied", "delete", "move"]),
        st.sampled_from(["0.1", "1.1", ""]),
        st.sampled_from(["Hi there", "Hello there", "Checking in"]),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(steps=_send_steps, start=st.floats(-24, 24 * 8, allow_nan=False), hours=st.floats(0.5, 24 * 9))
def test_rollup_based_funnels_equal_row_based_ones_on_random_sends(sender, admin_user, steps, start, hours):
    """Sends planned, sent, failed, read, replied, moved to another day and deleted, one statement at a
    time as outreach does it: the rollups hold exactly what the sends say, and every funnel from them
    equals the funnel read from every send, whatever the range."""
    t = datetime(2026, 11, 2, tzinfo=UTC)
    with transaction.atomic():
        people = build.contacts(6, prefix=f"f{next(_random_ids)}")
        campaign = build.campaign(build.audience(people), [sender], follow_ups=[build.follow_up(60)])
        recipients = [Recipient.objects.create(campaign=campaign, contact=c, account=sender) for c in people]
        for who, step, hour, what, variant, text in steps:
            send = Send.objects.filter(recipient=recipients[who], step=step).first()
            at = t + timedelta(hours=hour)
            if send is None:
                send = Send.objects.create(
                    campaign=campaign, recipient=recipients[who], account=sender, step=step, day=at.date(),
                    due_at=at, random_id=next(_random_ids), variant=variant, text=text,
                )  # fmt: skip
            same = Send.objects.filter(pk=send.pk)
            if what == "sent":
                same.update(state="sent", message_id=step + 1, sent_at=at + timedelta(hours=30))
            elif what in ("failed", "skipped"):
                same.update(state=what, reason=PRIVACY if step else "Spam limit reached")
            elif what == "read":
                same.update(read_at=at)
            elif what == "replied":
                same.update(replied_at=at, text=text)
            elif what == "move":
                same.update(due_at=at, sent_at=None, state="planned", variant=variant)
            elif what == "delete":
                same.delete()
        _send_rollups_match_sends()
        period = Period(key="7d", start=t + timedelta(hours=start), end=t + timedelta(hours=start + hours))
        for by in ("campaign", "variant", "step", "sender"):
            rolled = funnel(user=admin_user, period=period, by=by)
            read = funnel(user=admin_user, period=period, by=by, rollups=False)
            assert [replace(r, example="") for r in rolled] == [replace(r, example="") for r in read]
            # A variant's example is a text one of its sends was given (the least of those inserted).
            texts = {"Hi there", "Hello there", "Checking in"}
            assert all(r.example in texts for r in rolled if by == "variant")
        Campaign.objects.filter(pk=campaign.pk).delete()  # its sends go with it
        _send_rollups_match_sends()
        transaction.set_rollback(True)
