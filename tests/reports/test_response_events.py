from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from inbox import services
from inbox.models import BusinessHours, Conversation, ResponseEvent
from reports.selectors import Period, team_report
from tests.reports.timeline import Chat

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
AROUND_T0 = Period(key="7d", start=T0 - timedelta(days=1), end=T0 + timedelta(days=10))


@pytest.fixture
def account(make_account):
    return make_account(status="active")


def _human_events(kind):
    return sorted(ResponseEvent.objects.filter(kind=kind, automated=False).values_list("seconds", flat=True))


def test_it_reports_exact_average_median_and_p90_of_first_responses(account, admin_user):
    for n, seconds in enumerate([60, 120, 180, 600, 3000]):
        chat = Chat(account, telegram_id=700 + n)
        chat.inbound(T0)
        chat.human(T0 + timedelta(seconds=seconds), by=admin_user)

    [row] = team_report(user=admin_user, period=AROUND_T0, by="account")

    assert row.first_response.count == 5
    assert row.first_response.avg == pytest.approx(792)
    assert row.first_response.median == pytest.approx(180)
    assert row.first_response.p90 == pytest.approx(600 + 0.6 * 2400)  # percentile_cont interpolates
    assert row.reply_time.count == 5
    by_operator = {r.name: r for r in team_report(user=admin_user, period=AROUND_T0, by="operator")}
    assert by_operator[admin_user.username].first_response.median == 180
    assert by_operator[admin_user.username].outbound == 5


def test_reply_time_runs_from_the_oldest_unanswered_message_of_each_exchange(account, admin_user):
    chat = Chat(account, telegram_id=720)
    chat.inbound(T0)
    chat.inbound(T0 + timedelta(seconds=30))
    chat.human(T0 + timedelta(seconds=100), by=admin_user)  # answers both: 100 s
    chat.human(T0 + timedelta(seconds=150), by=admin_user)  # nothing was waiting: no measure
    chat.inbound(T0 + timedelta(seconds=1000))
    chat.human(T0 + timedelta(seconds=1400), by=admin_user)  # 400 s

    assert _human_events("reply_time") == [100, 400]
    assert _human_events("first_response") == [100]


def test_business_hours_count_only_working_time_in_the_team_time_zone(account, admin_user):
    BusinessHours.objects.create(timezone="Europe/Berlin", weekdays="01234", start=time(9), end=time(18))
    chat = Chat(account, telegram_id=730)
    friday_1730_berlin = datetime(2026, 11, 6, 16, 30, tzinfo=UTC)
    monday_0915_berlin = datetime(2026, 11, 9, 8, 15, tzinfo=UTC)
    chat.inbound(friday_1730_berlin)
    chat.human(monday_0915_berlin, by=admin_user)

    event = ResponseEvent.objects.get(kind="first_response")
    assert event.seconds == (monday_0915_berlin - friday_1730_berlin).total_seconds()
    assert event.business_seconds == 45 * 60  # 17:30-18:00 on Friday, 09:00-09:15 on Monday
    [row] = team_report(user=admin_user, period=AROUND_T0, by="account", business=True)
    assert row.first_response.median == 45 * 60


def test_changing_business_hours_does_not_rewrite_recorded_events(account, admin_user):
    hours = BusinessHours.objects.create(account=account, timezone="UTC", start=time(9), end=time(18))
    chat = Chat(account, telegram_id=740)
    chat.inbound(T0 + timedelta(hours=1))  # Monday 09:00 UTC
    chat.human(T0 + timedelta(hours=3), by=admin_user)
    hours.start, hours.end = time(10), time(11)
    hours.save()

    assert ResponseEvent.objects.get(kind="first_response").business_seconds == 2 * 3600


def test_an_automated_reply_is_kept_apart_and_never_counts_as_the_human_first_response(account, admin_user):
    chat = Chat(account, telegram_id=750)
    chat.inbound(T0)
    chat.automated(T0 + timedelta(seconds=10))  # a bot's instant answer
    chat.human(T0 + timedelta(seconds=600), by=admin_user)

    assert _human_events("first_response") == [600]
    assert _human_events("reply_time") == [600]
    automated = ResponseEvent.objects.filter(automated=True, kind="first_response").get()
    assert (automated.seconds, automated.operator) == (10, None)
    [row] = team_report(user=admin_user, period=AROUND_T0, by="account")
    assert (row.first_response.count, row.first_response.median, row.automated_replies) == (1, 600, 1)


def test_a_reopened_conversation_does_not_measure_its_first_response_again(account, admin_user):
    chat = Chat(account, telegram_id=760)
    chat.inbound(T0)
    chat.human(T0 + timedelta(seconds=60), by=admin_user)
    services.conversation_set_state(conversation=chat.conversation, state="closed", by=admin_user)
    chat.inbound(T0 + timedelta(days=3))  # the customer writes again: the conversation reopens
    chat.human(T0 + timedelta(days=3, seconds=300), by=admin_user)

    assert chat.conversation.state == Conversation.State.OPEN
    assert _human_events("first_response") == [60]
    assert _human_events("reply_time") == [60, 300]
    kinds = list(
        ResponseEvent.objects.filter(kind__in=["resolution", "reopen"]).values_list("kind", flat=True)
    )
    assert sorted(kinds) == ["reopen", "resolution"]
    [row] = team_report(user=admin_user, period=AROUND_T0, by="account")
    assert (row.first_response.count, row.first_response.median) == (1, 60)


def test_closing_measures_resolution_from_the_last_reopen(account, admin_user):
    chat = Chat(account, telegram_id=770)
    chat.inbound(T0)
    conversation = chat.conversation
    services.conversation_set_state(conversation=conversation, state="closed", by=admin_user)
    services.conversation_set_state(conversation=conversation, state="open", by=admin_user)
    services.conversation_set_state(conversation=conversation, state="closed", by=admin_user)

    first, second = ResponseEvent.objects.filter(kind="resolution").order_by("id")
    reopen = ResponseEvent.objects.get(kind="reopen")
    assert first.seconds == pytest.approx((first.at - T0).total_seconds())
    assert second.seconds == pytest.approx((second.at - reopen.at).total_seconds())
    assert second.seconds < 5
    assert (first.operator, reopen.operator) == (admin_user, admin_user)


def test_a_reply_sent_from_the_inbox_is_human_even_when_its_own_update_is_ingested_first(account, admin_user):
    chat = Chat(account, telegram_id=780)
    chat.inbound(datetime.now(UTC) - timedelta(seconds=90))
    reply = services.reply_send(conversation=chat.conversation, text="On it", by=admin_user)
    chat.automated(reply.date, telegram_id=4242)  # the account's own update about the reply
    services.reply_sent(message_id=reply.pk, telegram_id=4242)

    assert not ResponseEvent.objects.filter(automated=True).exists()
    event = ResponseEvent.objects.get(kind="first_response")
    assert (event.operator, event.message_id) == (admin_user, reply.pk)
    assert event.seconds == pytest.approx(90, abs=5)


def test_labels_are_recorded_as_they_were_when_the_reply_was_sent(account, admin_user):
    from inbox.models import Label

    vip, later = Label.objects.create(name="vip"), Label.objects.create(name="later")
    chat = Chat(account, telegram_id=790)
    chat.inbound(T0)
    chat.conversation.labels.set([vip])
    chat.human(T0 + timedelta(seconds=42), by=admin_user)
    chat.conversation.labels.set([later])

    by_label = {r.name: r for r in team_report(user=admin_user, period=AROUND_T0, by="label")}
    assert by_label["vip"].first_response.median == 42
    assert by_label["later"].first_response.count == 0  # messages count under today's labels
    assert by_label["later"].inbound == 1


def test_business_hours_with_an_unknown_time_zone_are_refused_and_never_stop_ingestion(account, admin_user):
    from django.core.exceptions import ValidationError

    bad = BusinessHours(timezone="Mars/Olympus_Mons", weekdays="01234", start=time(9), end=time(18))
    with pytest.raises(ValidationError):
        bad.full_clean()
    bad.save()  # as a shell could
    chat = Chat(account, telegram_id=799)
    chat.inbound(T0 + timedelta(hours=1))  # Monday 09:00 UTC
    chat.automated(T0 + timedelta(hours=2))

    assert ResponseEvent.objects.get(kind="first_response").business_seconds == 3600  # measured in UTC


def test_open_and_unanswered_now_follow_the_newest_message(account, admin_user):
    waiting, answered, closed = (Chat(account, telegram_id=800 + n) for n in range(3))
    for chat in (waiting, answered, closed):
        chat.inbound(T0)
    services.reply_send(conversation=answered.conversation, text="Here you go", by=admin_user)
    services.conversation_set_state(conversation=closed.conversation, state="closed", by=admin_user)

    [row] = team_report(user=admin_user, period=AROUND_T0, by="account")

    assert (row.open_now, row.unanswered_now) == (2, 1)
