"""Tasks on conversations (inbox.todo): due times in the user's zone, who may be assigned, My tasks in
order, hostile input, and the reminder that notifies exactly once even when two workers race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from inbox import notify, todo
from inbox.models import Notification, Task
from tests.support.inbox import conversation_make
from tests.support.processes import wait_for

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def granted(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    return account


@pytest.fixture
def mine(granted):
    return conversation_make(granted, title="Alice Buyer", peer_id=1001, texts=("Call me back",))


@pytest.fixture
def theirs(make_account):
    return conversation_make(make_account(status=Account.Status.ACTIVE), title="Secret Sam", peer_id=2002)


def _task(conversation, user, *, due, title="Call back") -> Task:
    return todo.task_create(conversation=conversation, title=title, due_at=due, assignee=user, by=user)


# --- due times -----------------------------------------------------------------------------------------


def test_a_due_time_is_read_in_the_users_zone():
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    due = todo.due_parse("2026-11-26T18:00", zone=BERLIN, now=now)
    assert due == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "Choose when"),
        ("99999-01-01T10:00", "date and a time"),
        ("2026-02-30T10:00", "not a date on the calendar"),
        ("2026-11-26T25:00", "not a date on the calendar"),
        ("2026-11-26\x00T10:00", "NUL"),
        ("1900-01-01T10:00", "within 20 years"),
        ("9999-12-31T23:59", "within 20 years"),
        ("tomorrow", "date and a time"),
    ],
)
def test_a_bad_due_time_is_refused_with_a_reason(value, says):
    with pytest.raises(ValueError, match=says):
        todo.due_parse(value, zone=BERLIN, now=datetime(2026, 11, 26, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call back at 18:00", datetime(2026, 11, 26, 18, 0)),
        ("call back at 7:30", datetime(2026, 11, 27, 7, 30)),  # already past today: tomorrow
        ("tomorrow 9:00 send the contract", datetime(2026, 11, 27, 9, 0)),
        ("Tomorrow at 14.30", datetime(2026, 11, 27, 14, 30)),
        ("today 08:00 was the viewing", datetime(2026, 11, 26, 8, 0)),  # as written, even if past
        ("no time here, flat 18:00b", None),
        ("at 24:00", None),
        ("", None),
    ],
)
def test_a_time_in_a_note_is_found(text, expected):
    now = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
    due = todo.due_in_text(text, zone=BERLIN, now=now)
    assert due == (None if expected is None else expected.replace(tzinfo=BERLIN))


# --- writes --------------------------------------------------------------------------------------------


def test_a_task_needs_a_title_without_nul_and_an_assignee_who_sees_the_conversation(
    mine, operator, outsider, admin_user
):
    due = timezone.now() + timedelta(hours=1)
    with pytest.raises(ValueError, match="Write what"):
        _task(mine, operator, due=due, title="   ")
    with pytest.raises(ValueError, match="NUL"):
        _task(mine, operator, due=due, title="call\x00back")
    with pytest.raises(ValueError, match="too long"):
        _task(mine, operator, due=due, title="x" * 201)
    with pytest.raises(ValueError, match="can see this conversation"):
        _task(mine, outsider, due=due)
    assert not Task.objects.exists()
    assert _task(mine, admin_user, due=due).assignee == admin_user  # admins see every conversation


def test_a_task_due_in_the_past_is_kept_and_overdue(mine, operator):
    task = _task(mine, operator, due=timezone.now() - timedelta(days=2))
    assert task.overdue
    todo.task_set_done(task=task, done=True)
    assert not task.overdue


def test_moving_a_reminded_task_reminds_again(mine, operator):
    task = _task(mine, operator, due=timezone.now() - timedelta(minutes=1))
    assert todo.tasks_remind_due() == 1
    todo.task_update(task=task, title="Call back", due_at=task.due_at, assignee=operator)
    assert todo.tasks_remind_due() == 0  # same time: not again
    todo.task_update(task=task, title="Call back", due_at=timezone.now(), assignee=operator)
    assert todo.tasks_remind_due() == 1
    assert Notification.objects.filter(kind="task_due", task=task).count() == 2


def test_done_tasks_and_future_tasks_do_not_remind(mine, operator):
    done = _task(mine, operator, due=timezone.now() - timedelta(minutes=1))
    todo.task_set_done(task=done, done=True)
    _task(mine, operator, due=timezone.now() + timedelta(hours=1))
    assert todo.tasks_remind_due() == 0


def test_a_reminder_respects_the_preference(mine, operator):
    notify.prefs_save(user=operator, messages=True, mentions=True, tasks_due=False, browser=True, zone="")
    task = _task(mine, operator, due=timezone.now())
    assert todo.tasks_remind_due() == 1  # claimed, so it never comes later either
    assert not Notification.objects.filter(task=task).exists()
    assert Task.objects.get(pk=task.pk).reminded_at is not None


# --- a task given to someone -----------------------------------------------------------------------------


def test_a_task_given_to_someone_else_notifies_them_and_one_for_oneself_does_not(mine, operator, admin_user):
    due = timezone.now() + timedelta(hours=1)
    todo.task_create(conversation=mine, title="Ring Alice", due_at=due, assignee=operator, by=operator)
    assert not Notification.objects.exists()
    task = todo.task_create(
        conversation=mine, title="Send the lease", due_at=due, assignee=operator, by=admin_user
    )
    note = Notification.objects.get()
    assert (note.user, note.kind, note.task, note.conversation) == (operator, "task_assigned", task, mine)
    assert note.text == "ada gave you a task: Send the lease"


def test_a_task_handed_over_notifies_the_new_assignee_only(mine, operator, admin_user):
    task = _task(mine, operator, due=timezone.now() + timedelta(hours=1))
    todo.task_update(task=task, title="Call back", due_at=task.due_at, assignee=operator, by=admin_user)
    assert not Notification.objects.exists()  # same assignee: nothing new to them
    todo.task_update(task=task, title="Call back", due_at=task.due_at, assignee=admin_user, by=operator)
    note = Notification.objects.get()
    assert (note.user, note.kind) == (admin_user, "task_assigned")
    assert note.text == "otto gave you a task: Call back"


def test_a_task_given_respects_the_preference(mine, operator, admin_user):
    notify.prefs_save(
        user=operator, messages=True, mentions=True, tasks_due=True, browser=True, zone="", assigned=False
    )
    todo.task_create(
        conversation=mine, title="Quiet", due_at=timezone.now(), assignee=operator, by=admin_user
    )
    assert not Notification.objects.exists()


def test_a_task_refused_notifies_nobody(mine, operator, admin_user, theirs):
    with pytest.raises(ValueError):
        todo.task_create(
            conversation=mine, title="x\x00", due_at=timezone.now(), assignee=operator, by=admin_user
        )
    with pytest.raises(ValueError):  # an operator who cannot see the conversation
        todo.task_create(
            conversation=theirs, title="Sam", due_at=timezone.now(), assignee=operator, by=admin_user
        )
    assert not Notification.objects.exists()


def test_the_preferences_page_saves_the_assigned_choice(mine, operator_client, operator):
    response = operator_client.post(
        reverse("inbox:preferences"), {"messages": "on", "mentions": "on", "tasks_due": "on", "timezone": ""}
    )
    assert response.status_code == 302
    assert notify.prefs_get(user=operator).assigned is False
    operator_client.post(reverse("inbox:preferences"), {"assigned": "on", "timezone": ""})
    assert notify.prefs_get(user=operator).assigned is True
    assert 'name="assigned" checked' in operator_client.get(reverse("inbox:preferences")).content.decode()


# --- the race ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_remind_each_task_exactly_once(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    convo = conversation_make(account, title="Race", peer_id=3003)
    for n in range(40):
        _task(convo, operator, due=timezone.now() - timedelta(seconds=n), title=f"task {n}")
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(todo.tasks_remind_due())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 40
    assert Notification.objects.filter(kind="task_due").count() == 40
    assert Notification.objects.values("task").distinct().count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_finds_a_task_claimed_by_an_open_transaction_waits_and_skips_it(
    make_account, operator, monkeypatch
):
    """The worst interleaving, forced: worker A has claimed the task and not committed yet while B
    tries the same UPDATE. B must wait for A's row lock and then see the claim, not remind again."""
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    task = _task(conversation_make(account, title="Race", peer_id=3004), operator, due=timezone.now())
    claimed, release = threading.Event(), threading.Event()
    real_notify = notify.notify
    calls = []

    def slow_notify(**kwargs):
        calls.append(kwargs)
        claimed.set()
        assert release.wait(30)
        return real_notify(**kwargs)

    monkeypatch.setattr(notify, "notify", slow_notify)
    results: dict[str, int] = {}

    def run(name: str) -> None:
        try:
            results[name] = todo.tasks_remind_due()
        finally:
            connections.close_all()

    a = threading.Thread(target=run, args=("a",))
    a.start()
    assert claimed.wait(30)
    b = threading.Thread(target=run, args=("b",))
    b.start()

    def b_waits_for_the_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE \"inbox_task\"%%'"
            )
            return cursor.fetchone()[0] == 1

    wait_for(b_waits_for_the_lock, timeout=30, what="worker B blocked on A's claim")
    release.set()
    a.join()
    b.join()
    assert results == {"a": 1, "b": 0}
    assert len(calls) == 1
    assert Notification.objects.filter(task=task).count() == 1


# --- views ---------------------------------------------------------------------------------------------


def test_my_tasks_lists_overdue_first_then_by_due_time(operator_client, mine, operator):
    now = timezone.now()
    _task(mine, operator, due=now + timedelta(hours=5), title="later")
    _task(mine, operator, due=now - timedelta(days=1), title="overdue")
    _task(mine, operator, due=now + timedelta(hours=1), title="soon")
    page = operator_client.get(reverse("inbox:tasks")).content.decode()
    assert page.index("overdue") < page.index("soon") < page.index("later")
    assert page.count('class="overdue"') == 1


def test_creating_a_task_from_the_conversation(operator_client, mine, operator):
    notify.prefs_save(
        user=operator, messages=True, mentions=True, tasks_due=True, browser=True, zone="Asia/Tokyo"
    )
    url = reverse("inbox:conversation_tasks", args=[mine.pk])
    response = operator_client.post(
        url, {"title": "Send the contract", "due": "2026-12-01T09:00"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    task = Task.objects.get()
    assert task.due_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert task.assignee == operator
    assert "Send the contract" in response.content.decode()


def test_a_bad_task_form_says_why_and_keeps_what_was_typed(operator_client, mine):
    url = reverse("inbox:conversation_tasks", args=[mine.pk])
    response = operator_client.post(
        url, {"title": "Ring her", "due": "99999-01-01T10:00"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Give the due time as a date and a time" in body
    assert 'value="Ring her"' in body
    assert not Task.objects.exists()


def test_an_outsider_can_neither_see_nor_touch_tasks(client, outsider, mine, operator, theirs):
    task = _task(mine, operator, due=timezone.now())
    client.force_login(outsider)
    assert client.get(reverse("inbox:conversation_tasks", args=[mine.pk])).status_code == 404
    assert client.get(reverse("inbox:task_edit", args=[task.pk])).status_code == 404
    assert client.post(reverse("inbox:task_done", args=[task.pk])).status_code == 404
    assert client.post(reverse("inbox:task_delete", args=[task.pk])).status_code == 404
    assert Task.objects.filter(pk=task.pk, done_at__isnull=True).exists()


def test_done_undo_edit_and_delete(operator_client, mine, operator, admin_user):
    task = _task(mine, operator, due=timezone.now() + timedelta(hours=1))
    operator_client.post(reverse("inbox:task_done", args=[task.pk]), {"done": "1"})
    assert Task.objects.get(pk=task.pk).done_at is not None
    operator_client.post(reverse("inbox:task_done", args=[task.pk]), {"done": "0"})
    assert Task.objects.get(pk=task.pk).done_at is None
    response = operator_client.post(
        reverse("inbox:task_edit", args=[task.pk]),
        {"title": "Call at noon", "due": "2026-12-01T12:00", "assignee": str(admin_user.pk)},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.assignee) == ("Call at noon", admin_user)
    bad = operator_client.post(
        reverse("inbox:task_edit", args=[task.pk]), {"title": "", "due": "2026-12-01T12:00"}
    )
    assert bad.status_code == 400 and "Write what is to be done" in bad.content.decode()
    operator_client.post(reverse("inbox:task_delete", args=[task.pk]), {"next": "//evil.example/"})
    assert not Task.objects.filter(pk=task.pk).exists()


def test_a_note_naming_a_time_offers_a_task(operator_client, mine):
    response = operator_client.post(
        reverse("inbox:note", args=[mine.pk]), {"text": "call back tomorrow 9:00"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "Make a task" in body
    assert 'name="due" value="' in body and "T09:00" in body


def test_the_beat_task_reminds_what_is_due(mine, operator):
    """Its schedule (every 15 s, migration inbox 0014) is checked with every shipped schedule in
    tests/crm/test_beat.py."""
    from inbox import tasks

    assert tasks.tasks_remind_due.name == "inbox.tasks_remind_due"
    _task(mine, operator, due=timezone.now())
    assert tasks.tasks_remind_due() == 1


def test_an_assignee_who_lost_the_account_is_not_reminded(mine, granted, operator):
    task = _task(mine, operator, due=timezone.now())
    granted.operators.remove(operator)
    todo.tasks_remind_due()
    assert not Notification.objects.filter(task=task).exists()
    assert Task.objects.get(pk=task.pk).reminded_at is not None  # and not again later
