"""The per-day rollups: summed whole days plus the rows at the edges answer exactly what reading every
message and event answers, whatever the timeline, the range and what happened to them since."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from accounts.telegram.records import Deletion
from crm.models import User
from inbox import services, store
from inbox.models import Conversation, Label, Message, ResponseEvent
from inbox.records import Batch
from reports.selectors import DIMENSIONS, Period, period_split, response_histogram, team_report
from tests.reports.timeline import Chat

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # the reports' zone in tests is UTC: days start at 00:00


def _rollups_match_messages() -> None:
    """Every rollup row equals the count of its non-deleted messages (days in the reports' zone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conversation_id, day, account_id, inbound, outbound FROM reports_conversationday
            WHERE inbound <> 0 OR outbound <> 0 ORDER BY 1, 2
            """
        )
        rolled = cursor.fetchall()
        cursor.execute(
            """
            SELECT m.conversation_id, (m.date AT TIME ZONE 'UTC')::date, c.account_id,
                   count(*) FILTER (WHERE m.direction = 'in'), count(*) FILTER (WHERE m.direction = 'out')
            FROM inbox_message m JOIN inbox_conversation c ON c.id = m.conversation_id
            WHERE NOT m.deleted GROUP BY 1, 2, 3 ORDER BY 1, 2
            """
        )
        assert rolled == cursor.fetchall()
        cursor.execute(
            "SELECT day, account_id, operator_id, outbound FROM reports_operatorday WHERE outbound <> 0 "
            "ORDER BY 1, 2, 3 NULLS FIRST"
        )
        rolled = cursor.fetchall()
        cursor.execute(
            """
            SELECT (m.date AT TIME ZONE 'UTC')::date, c.account_id, m.sent_by_id, count(*)
            FROM inbox_message m JOIN inbox_conversation c ON c.id = m.conversation_id
            WHERE NOT m.deleted AND m.direction = 'out' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 NULLS FIRST
            """
        )
        assert rolled == cursor.fetchall()


def _rollups_match_events() -> None:
    """Every response rollup row holds exactly the values of its events (per account, operator, label)."""
    expanded = """
        SELECT (e.at AT TIME ZONE 'UTC')::date AS day, x.dimension, x.key, e.account_id, e.kind, e.automated,
               e.seconds, e.business_seconds
        FROM inbox_responseevent e CROSS JOIN LATERAL (
            SELECT 'account' AS dimension, e.account_id AS key UNION ALL SELECT 'operator', e.operator_id
            UNION ALL SELECT 'label', label FROM unnest(e.labels) label
        ) x
        WHERE e.kind IN ('first_response', 'reply_time')
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT day, dimension, key, account_id, kind, automated, n,
                   ARRAY(SELECT unnest(seconds) ORDER BY 1), ARRAY(SELECT unnest(business_seconds) ORDER BY 1)
            FROM reports_responseday WHERE n <> 0 ORDER BY 1, 2, 3 NULLS FIRST, 4, 5, 6
            """
        )
        rolled = cursor.fetchall()
        cursor.execute(
            f"""
            SELECT day, dimension, key, account_id, kind, automated, count(*)::int,
                   array_agg(seconds ORDER BY seconds), array_agg(business_seconds ORDER BY business_seconds)
            FROM ({expanded}) x GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3 NULLS FIRST, 4, 5, 6
            """  # noqa: S608 - a constant
        )
        assert rolled == cursor.fetchall()


def _same_reports(period: Period, *, user: User, business: bool) -> None:
    """Each team report and the histogram, from the rollups and from the rows, agree (averages to the
    last bits a different summing order may change)."""
    for by in DIMENSIONS:
        rolled = team_report(user=user, period=period, by=by, business=business)
        read = team_report(user=user, period=period, by=by, business=business, rollups=False)
        assert [r.key for r in rolled] == [r.key for r in read]
        for a, b in zip(rolled, read, strict=True):
            for timing in ("first_response", "reply_time"):
                ta, tb = getattr(a, timing), getattr(b, timing)
                assert (ta.count, ta.median, ta.p90) == (tb.count, tb.median, tb.p90)
                assert ta.avg == (tb.avg if tb.avg is None else pytest.approx(tb.avg, rel=1e-12))
                setattr(a, timing, tb)
            assert a == b
    assert response_histogram(user=user, period=period, business=business) == response_histogram(
        user=user, period=period, business=business, rollups=False
    )


def test_a_period_splits_into_whole_days_and_two_partial_edges():
    period = Period(key="7d", start=T0 + timedelta(hours=5), end=T0 + timedelta(days=3, hours=2))
    split = period_split(period)
    assert (split["day_from"], split["day_to"]) == (
        datetime(2026, 11, 3).date(),
        datetime(2026, 11, 5).date(),
    )
    assert (split["days_start"], split["days_end"]) == (T0 + timedelta(days=1), T0 + timedelta(days=3))

    within_a_day = Period(key="1d", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=20))
    split = period_split(within_a_day)
    assert split["day_from"] == split["day_to"]  # no whole day: every message is read from the rows
    assert split["days_start"] == split["days_end"] == within_a_day.end
    assert period_split(period, rollups=False)["days_start"] == period.end


def test_rollups_follow_inserts_edits_deletions_and_a_reply_whose_date_changed(make_account, admin_user):
    account = make_account(status="active")
    chat = Chat(account, telegram_id=801)
    first = chat.inbound(T0 + timedelta(hours=23, minutes=59))
    chat.inbound(T0 + timedelta(days=1, hours=1))
    chat.automated(T0 + timedelta(days=1, hours=2))
    answer = chat.human(T0 + timedelta(days=1, hours=3), by=admin_user)
    _rollups_match_messages()

    Message.objects.filter(conversation=chat.conversation, telegram_id=first).update(text="edited")
    store.ingest(Batch(deletions=[Deletion(account_id=account.pk, ids=(first,))]))
    _rollups_match_messages()

    # The host reports the reply's real date (a day later): it moves to that day.
    services.reply_sent(message_id=answer.pk, telegram_id=99_001, date=T0 + timedelta(days=2, hours=1))
    _rollups_match_messages()
    _rollups_match_events()
    ResponseEvent.objects.filter(message=answer).update(operator=None, labels=[7, 8])
    _rollups_match_events()
    Message.objects.filter(pk=answer.pk).delete()  # its events go with it
    assert not ResponseEvent.objects.filter(message_id=answer.pk).exists()
    _rollups_match_messages()
    _rollups_match_events()


# A timeline: (chat, hour offset from T0, what) — an inbound message, an operator's or an automated reply.
_events = st.lists(
    st.tuples(
        st.integers(0, 3), st.floats(0, 24 * 5, allow_nan=False), st.sampled_from(["in", "human", "auto"])
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=_events,
    deleted=st.lists(st.integers(0, 24), max_size=4),
    start=st.floats(-12, 24 * 5, allow_nan=False),
    hours=st.floats(0.5, 24 * 6, allow_nan=False),
    labelled=st.lists(st.integers(0, 3), max_size=3),
    assigned=st.lists(st.integers(0, 3), max_size=3),
    business=st.booleans(),
)
def test_rollup_based_reports_equal_row_based_ones_on_random_timelines(
    make_account, admin_user, events, deleted, start, hours, labelled, assigned, business
):
    accounts = _accounts(make_account)
    operators = [admin_user, User.objects.get_or_create(username="ivy", defaults={"role": "operator"})[0]]
    with transaction.atomic():
        chats = [Chat(accounts[n % 2], telegram_id=810 + n) for n in range(4)]
        stored: list[tuple[Chat, int]] = []
        for n, (chat_no, hour, what) in enumerate(sorted(events, key=lambda e: e[1])):
            chat, at = chats[chat_no], T0 + timedelta(hours=hour)
            if what == "in":
                stored.append((chat, chat.inbound(at)))
            elif what == "auto":
                stored.append((chat, chat.automated(at)))
            elif Conversation.objects.filter(account=chat.account, peer_id=chat.peer.peer_id).exists():
                chat.human(at, by=operators[n % len(operators)])
        for index in deleted:
            if index < len(stored):
                chat, telegram_id = stored[index]
                store.ingest(Batch(deletions=[Deletion(account_id=chat.account.pk, ids=(telegram_id,))]))
        label = Label.objects.get_or_create(name="vip")[0]
        conversations = {c.peer_id: c for c in Conversation.objects.all()}
        for n in labelled:
            if (c := conversations.get(810 + n)) is not None:
                c.labels.add(label)
        for n in assigned:
            Conversation.objects.filter(peer_id=810 + n).update(assignee=admin_user)

        period = Period(key="7d", start=T0 + timedelta(hours=start), end=T0 + timedelta(hours=start + hours))
        _same_reports(period, user=admin_user, business=business)
        _rollups_match_messages()
        _rollups_match_events()
        transaction.set_rollback(True)


def _accounts(make_account) -> list[Account]:
    """Two accounts for the whole test (hypothesis runs its examples inside one test's database)."""
    found = list(Account.objects.order_by("pk")[:2])
    while len(found) < 2:
        found.append(make_account(status="active"))
    return found


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_into_the_same_days_lose_no_count(make_account, admin_user):
    """Ingestion runs in several processes: batches committing at once into the same conversation-days
    (and the same response days) must add up, never overwrite each other."""
    account = make_account(status="active")
    chats = [Chat(account, telegram_id=850 + n) for n in range(3)]
    for chat in chats:
        chat.inbound(T0)  # the conversations exist before the race

    def batch(worker: int) -> None:
        try:
            for n in range(10):
                chat = chats[(worker + n) % len(chats)]
                at = T0 + timedelta(hours=1, minutes=worker, seconds=n)
                (chat.inbound if n % 2 else chat.automated)(at, telegram_id=100_000 + worker * 100 + n)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(4)))

    assert Message.objects.count() == 3 + 40
    _rollups_match_messages()
    _rollups_match_events()
