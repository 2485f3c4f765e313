"""Auto-assignment (teams.assign) through the real store, as a session host stores what arrives: round-robin
among online members below capacity, and every way a new conversation stays unassigned says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account
from inbox import notify, store
from inbox import services as inbox_services
from inbox.models import Conversation, Notification
from inbox.records import Batch
from teams import assign, services
from teams.models import Team
from tests.support.teams import arrive, capacity, offline, online, record

pytestmark = pytest.mark.django_db


def _reason(team) -> str:
    return Team.objects.get(pk=team.pk).unassigned_reason


def test_new_conversations_go_round_robin_between_the_online_members(sales, operator, bea):
    got = [arrive(sales.one if n % 2 else sales.two).assignee_id for n in range(6)]
    # Otto joined first, so his turn comes first; then they alternate, whichever account it arrives on.
    assert got == [operator.pk, bea.pk] * 3
    assert _reason(sales.team) == ""


def test_the_assignee_is_told_and_the_message_notification_does_not_double_it(sales, operator):
    convo = arrive(sales.one, text="Is the flat still free?")
    note = Notification.objects.get()
    assert (note.user_id, note.kind, note.conversation_id) == (operator.pk, "assigned", convo.pk)
    assert note.text.startswith("Team Sales assigned you Person") and "Is the flat still free?" in note.text
    # The next message of the same conversation is a message notification, not a new assignment.
    store.ingest(Batch(messages=[record(sales.one, person=convo.peer_id, telegram_id=2, text="Hello?")]))
    assert Conversation.objects.get(pk=convo.pk).assignee_id == operator.pk
    assert list(Notification.objects.order_by("id").values_list("kind", flat=True)) == ["assigned", "message"]


def test_the_assigned_notification_respects_the_preference(sales, operator):
    notify.prefs_save(
        user=operator, messages=True, mentions=True, tasks_due=True, browser=True, zone="", assigned=False
    )
    assert arrive(sales.one).assignee_id == operator.pk
    assert not Notification.objects.exists()


def test_a_member_at_capacity_is_skipped_until_a_conversation_of_theirs_closes(
    sales, operator, bea, admin_user
):
    capacity(sales.otto, 1)
    first = arrive(sales.one)
    assert [first.assignee_id, arrive(sales.one).assignee_id, arrive(sales.one).assignee_id] == [
        operator.pk, bea.pk, bea.pk,
    ]  # fmt: skip
    inbox_services.conversation_set_state(conversation=first, state="closed", by=admin_user)
    assert arrive(sales.one).assignee_id == operator.pk  # a place is free again, and it is his turn


def test_when_everyone_is_full_it_stays_unassigned_and_the_team_says_why(sales, operator, bea):
    capacity(sales.otto, 1)
    capacity(sales.bea, 0)  # on leave
    assert arrive(sales.one).assignee_id == operator.pk
    assert arrive(sales.one).assignee_id is None
    assert _reason(sales.team) == assign.ALL_FULL
    capacity(sales.bea, 3)
    assert arrive(sales.one).assignee_id == bea.pk
    assert _reason(sales.team) == ""  # a later assignment clears the old reason


def test_offline_members_are_skipped(sales, operator, bea):
    offline(operator)
    assert [arrive(sales.one).assignee_id for _ in range(2)] == [bea.pk, bea.pk]
    offline(bea)
    assert arrive(sales.one).assignee_id is None
    assert _reason(sales.team) == assign.NOBODY_ONLINE
    online(operator)
    assert arrive(sales.one).assignee_id == operator.pk


def test_a_deactivated_member_gets_nothing(sales, operator, bea):
    operator.is_active = False
    operator.save()
    assert [arrive(sales.one).assignee_id for _ in range(2)] == [bea.pk, bea.pk]


def test_an_account_without_a_team_or_a_team_without_auto_assignment_assigns_nothing(sales, make_account):
    loose = make_account(status=Account.Status.ACTIVE)
    loose.operators.add(sales.otto.user)
    assert arrive(loose).assignee_id is None
    services.team_set_auto_assign(team=sales.team, on=False)
    assert arrive(sales.one).assignee_id is None
    assert _reason(sales.team) == ""  # off is no problem to explain


def test_a_team_without_members_says_so(sales, admin_user):
    for member in (sales.otto, sales.bea):
        services.member_remove(team=sales.team, member_id=member.pk, by=admin_user)
    assert arrive(sales.one).assignee_id is None
    assert _reason(sales.team) == assign.NO_MEMBERS


def test_a_removed_member_gets_nothing_more(sales, bea, admin_user):
    services.member_remove(team=sales.team, member_id=sales.otto.pk, by=admin_user)
    assert [arrive(sales.one).assignee_id for _ in range(3)] == [bea.pk] * 3


def test_a_member_whose_grant_was_revoked_on_the_account_page_is_skipped_for_that_account(
    sales, operator, bea
):
    sales.one.operators.remove(operator)
    assert [arrive(sales.one).assignee_id for _ in range(2)] == [bea.pk, bea.pk]
    assert arrive(sales.two).assignee_id == operator.pk  # still granted the other one


def test_an_admin_member_is_assigned_like_anyone(sales, admin_user, operator, bea):
    services.member_add(team=sales.team, user_id=admin_user.pk, capacity=2, by=admin_user)
    online(admin_user)
    assert [arrive(sales.one).assignee_id for _ in range(3)] == [operator.pk, bea.pk, admin_user.pk]


def test_a_campaigns_first_message_waits_for_the_persons_answer(sales, operator):
    person = 7777
    store.ingest(Batch(messages=[record(sales.one, person=person, out=True, text="Hi from us")]))
    convo = Conversation.objects.get(account=sales.one, peer_id=person)
    Conversation.objects.filter(pk=convo.pk).update(outreach_pending=True)  # as a campaign send marks it
    assert Conversation.objects.get(pk=convo.pk).assignee_id is None  # our own message assigns nothing
    store.ingest(Batch(messages=[record(sales.one, person=person, telegram_id=2, text="Who is this?")]))
    assert Conversation.objects.get(pk=convo.pk).assignee_id == operator.pk  # the answer does


def test_a_closed_conversation_reopened_by_the_person_is_assigned_again(sales, operator, bea, admin_user):
    convo = arrive(sales.one)
    inbox_services.conversation_assign(conversation=convo, assignee=None, by=admin_user)
    inbox_services.conversation_set_state(conversation=convo, state="closed", by=admin_user)
    store.ingest(Batch(messages=[record(sales.one, person=convo.peer_id, telegram_id=2, text="Me again")]))
    assert Conversation.objects.get(pk=convo.pk).assignee_id == bea.pk


def test_an_assigned_conversation_keeps_its_assignee(sales, operator, bea, admin_user):
    convo = arrive(sales.one)
    assert convo.assignee_id == operator.pk
    store.ingest(Batch(messages=[record(sales.one, person=convo.peer_id, telegram_id=2)]))
    assert Conversation.objects.get(pk=convo.pk).assignee_id == operator.pk
    assert arrive(sales.one).assignee_id == bea.pk  # the turn did not move


def test_old_messages_and_channels_assign_nothing(sales):
    old = datetime.now(UTC) - assign.MAX_AGE - timedelta(minutes=1)
    assert arrive(sales.one, at=old).assignee_id is None  # the backfill's old chats
    assert arrive(sales.one, kind="channel").assignee_id is None
    assert arrive(sales.one, kind="group").assignee_id is not None


def test_several_new_conversations_in_one_batch_are_shared_out(sales, operator, bea):
    capacity(sales.otto, 1)
    batch = Batch(messages=[record(sales.one), record(sales.two), record(sales.one)])
    store.ingest(batch)
    rows = Conversation.objects.filter(account__in=[sales.one, sales.two]).order_by("pk")
    assert sorted(c.assignee_id for c in rows) == sorted([operator.pk, bea.pk, bea.pk])


def test_an_error_in_auto_assignment_never_loses_the_messages(sales, monkeypatch, caplog):
    def broken(**_):
        raise RuntimeError("assignment broke")

    monkeypatch.setattr(assign, "conversations_auto_assign", broken)
    convo = arrive(sales.one, text="Still stored")
    assert convo.assignee_id is None
    assert convo.messages.filter(text="Still stored").exists()
    assert "could not auto-assign" in caplog.text


def test_a_database_error_in_auto_assignment_rolls_back_only_itself(sales, monkeypatch):
    """A failing statement inside the savepoint (here: a reason too long for its column) must leave the
    storing transaction usable: the messages and their summary are stored."""
    monkeypatch.setattr(assign, "NOBODY_ONLINE", "x" * 500)
    offline(sales.otto.user, sales.bea.user)
    convo = arrive(sales.one, text="Kept")
    assert convo.last_message_preview == "Kept" and convo.assignee_id is None


def test_a_conversation_assigned_by_hand_meanwhile_keeps_its_assignee(sales, operator, bea):
    """The claim is conditional: a conversation someone assigned between the choice and the write is
    not taken from them."""
    convo = arrive(sales.one)
    assert convo.assignee_id == operator.pk
    assert inbox_services.conversations_claim(assignees={convo.pk: bea.pk}) == []
    assert Conversation.objects.get(pk=convo.pk).assignee_id == operator.pk
