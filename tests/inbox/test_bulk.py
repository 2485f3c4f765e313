"""Bulk actions on conversations (inbox.bulk): every rule of the single action, per conversation, and no
id from the browser trusted."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Account
from crm.models import User
from inbox import bulk
from inbox.models import Conversation, Label, Notification, ResponseEvent
from tests.support.inbox import conversation_make


@pytest.fixture
def granted(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Sales One")
    account.operators.add(operator)
    return account


@pytest.fixture
def second(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Support Two")
    account.operators.add(operator)
    return account


@pytest.fixture
def hidden(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Hidden Desk")
    return account


@pytest.fixture
def mine(granted):
    return [conversation_make(granted, title=f"Buyer {n}", peer_id=1000 + n, texts=("Hi",)) for n in range(3)]


@pytest.fixture
def theirs(hidden):
    return conversation_make(hidden, title="Secret Sam", peer_id=2002, texts=("Classified",))


@pytest.fixture
def colleague(db, granted):
    """An operator granted the first account only."""
    user = User.objects.create_user("bea", password="pw-colleague-1", role=User.Role.OPERATOR)
    granted.operators.add(user)
    return user


def _ids(conversations):
    return [str(c.pk) for c in conversations]


def test_closing_several_reports_each_kind_of_outcome(operator, mine, theirs):
    Conversation.objects.filter(pk=mine[0].pk).update(state="closed")
    result = bulk.bulk_close(by=operator, ids=[*_ids(mine), str(theirs.pk)])
    assert result.summary() == "2 closed, 1 already closed, 1 skipped (no access)"
    assert set(Conversation.objects.filter(pk__in=[c.pk for c in mine]).values_list("state", flat=True)) == {
        "closed"
    }
    assert Conversation.objects.get(pk=theirs.pk).state == "open"


def test_closing_an_already_closed_conversation_records_no_second_resolution(operator, mine):
    bulk.bulk_close(by=operator, ids=_ids(mine[:1]))
    again = bulk.bulk_close(by=operator, ids=_ids(mine[:1]))
    assert (again.done, again.unchanged) == (0, 1)
    assert ResponseEvent.objects.filter(conversation=mine[0], kind="resolution").count() == 1


def test_reopening_brings_closed_and_snoozed_back(operator, mine):
    Conversation.objects.filter(pk=mine[0].pk).update(state="closed")
    Conversation.objects.filter(pk=mine[1].pk).update(state="snoozed")
    result = bulk.bulk_reopen(by=operator, ids=_ids(mine))
    assert result.summary() == "2 reopened, 1 already open"
    assert set(Conversation.objects.values_list("state", flat=True)) == {"open"}


@pytest.mark.parametrize(
    "hostile",
    ["\x00", "1\x00", "9" * 5000, "-1", "0", "1e3", "٣", " 7 ", "", "1_000", str(2**63), "abc"],
)
def test_hostile_ids_are_skipped_never_applied(operator, mine, hostile):
    result = bulk.bulk_close(by=operator, ids=[hostile, str(mine[0].pk)])
    assert result.summary() == "1 closed, 1 skipped (no access)"
    assert Conversation.objects.filter(state="closed").count() == 1


def test_another_accounts_conversation_is_refused_even_mixed_in(operator, mine, theirs):
    label = Label.objects.create(name="hot")
    for action in (
        lambda ids: bulk.bulk_close(by=operator, ids=ids),
        lambda ids: bulk.bulk_assign(by=operator, ids=ids, assignee=operator),
        lambda ids: bulk.bulk_label(by=operator, ids=ids, label=label, add=True),
    ):
        result = action([str(theirs.pk), str(mine[0].pk)])
        assert result.no_access == 1
    theirs.refresh_from_db()
    assert theirs.state == "open" and theirs.assignee is None and not theirs.labels.exists()


def test_the_same_id_twice_counts_once(operator, mine):
    result = bulk.bulk_close(by=operator, ids=[str(mine[0].pk), str(mine[0].pk), f"0{mine[0].pk}"])
    assert result.summary() == "1 closed"


def test_more_than_the_limit_is_refused_as_a_whole(operator, mine):
    with pytest.raises(ValueError, match="at most 1,000"):
        bulk.bulk_close(by=operator, ids=[str(mine[0].pk)] * (bulk.LIMIT + 1))
    assert not Conversation.objects.filter(state="closed").exists()


def test_assigning_refuses_each_conversation_the_assignee_may_not_see(operator, colleague, granted, second):
    here = conversation_make(granted, title="Alice", peer_id=1, texts=("Hi",))
    there = conversation_make(second, title="Bob", peer_id=2, texts=("Hi",))
    result = bulk.bulk_assign(by=operator, ids=[str(here.pk), str(there.pk)], assignee=colleague)
    assert result.summary() == "1 assigned to bea, 1 refused"
    assert result.refusals() == ["Bob: bea may not see conversations of Support Two"]
    assert Conversation.objects.get(pk=here.pk).assignee == colleague
    assert Conversation.objects.get(pk=there.pk).assignee is None


def test_a_bulk_assignment_tells_the_assignee_once(operator, colleague, granted, mine):
    many = mine + [
        conversation_make(granted, title=f"Lead {n}", peer_id=1100 + n, texts=("Hi",)) for n in range(2)
    ]
    bulk.bulk_assign(by=operator, ids=_ids(many[:1]), assignee=colleague)  # already hers: not told again
    bulk.bulk_assign(by=operator, ids=_ids(many), assignee=colleague)
    told = list(
        Notification.objects.filter(user=colleague).order_by("id").values_list("text", "conversation")
    )
    assert told[0] == ("otto assigned you Buyer 0: Hi", many[0].pk)
    assert told[1:] == [("otto assigned you 4 conversations: Buyer 1, Buyer 2, Lead 0 and 1 more", None)]
    bulk.bulk_assign(by=colleague, ids=_ids(mine), assignee=operator)  # 3: all named, none "more"
    assert (
        Notification.objects.get(user=operator).text
        == "bea assigned you 3 conversations: Buyer 0, Buyer 1, Buyer 2"
    )
    bulk.bulk_assign(by=operator, ids=_ids(mine), assignee=operator)  # taken back by himself: nobody told
    assert Notification.objects.filter(user=operator).count() == 1


def test_assigning_again_and_unassigning(operator, mine):
    bulk.bulk_assign(by=operator, ids=_ids(mine[:2]), assignee=operator)
    again = bulk.bulk_assign(by=operator, ids=_ids(mine), assignee=operator)
    assert again.summary() == "1 assigned to otto, 2 already assigned to otto"
    gone = bulk.bulk_assign(by=operator, ids=_ids(mine), assignee=None)
    assert gone.summary() == "3 unassigned"
    assert not Conversation.objects.filter(assignee__isnull=False).exists()


def test_an_inactive_admin_cannot_be_assigned(operator, mine):
    former = User.objects.create_user("gone", password="x", role=User.Role.ADMIN, is_active=False)
    result = bulk.bulk_assign(by=operator, ids=_ids(mine[:1]), assignee=former)
    assert len(result.refused) == 1 and result.done == 0


def test_adding_a_label_twice_is_idempotent_and_keeps_other_labels(operator, mine):
    hot, vip = Label.objects.create(name="hot"), Label.objects.create(name="vip")
    mine[0].labels.add(vip)
    first = bulk.bulk_label(by=operator, ids=_ids(mine), label=hot, add=True)
    second = bulk.bulk_label(by=operator, ids=_ids(mine), label=hot, add=True)
    assert first.summary() == "3 labelled “hot”"
    assert second.summary() == "0 labelled “hot”, 3 already had it"
    assert sorted(mine[0].labels.values_list("name", flat=True)) == ["hot", "vip"]
    assert Conversation.labels.through.objects.filter(label=hot).count() == 3


def test_removing_a_label_leaves_the_others(operator, mine):
    hot, vip = Label.objects.create(name="hot"), Label.objects.create(name="vip")
    mine[0].labels.add(hot, vip)
    result = bulk.bulk_label(by=operator, ids=_ids(mine), label=hot, add=False)
    assert result.summary() == "1 no longer labelled “hot”, 2 did not have it"
    assert list(mine[0].labels.values_list("name", flat=True)) == ["vip"]


def test_a_view_offers_only_what_it_shows_the_user_and_the_action_would_change(
    operator, mine, theirs, colleague
):
    from inbox.selectors import Filters

    hot = Label.objects.create(name="hot")
    Conversation.objects.filter(pk=mine[0].pk).update(unread_count=3)
    mine[1].labels.add(hot)

    def pending(filters, action, **extra):
        rows = bulk.view_pending(user=operator, filters=filters, action=action, **extra)
        return sorted(rows.values_list("id", flat=True))

    everyone = sorted(c.pk for c in mine)
    assert pending(Filters(unread=True), "close") == [mine[0].pk]
    assert pending(Filters(), "close") == everyone and theirs.pk not in pending(Filters(state="all"), "close")
    assert pending(Filters(), "reopen") == []
    assert pending(Filters(), "label_add", label=hot) == [mine[0].pk, mine[2].pk]
    assert pending(Filters(), "label_remove", label=hot) == [mine[1].pk]
    assert pending(Filters(), "assign", assignee=None) == []
    assert pending(Filters(), "assign", assignee=colleague) == everyone
    assert pending(Filters(), "explode") == []


def test_select_all_goes_in_batches_and_says_how_many_are_left(operator_client, granted, monkeypatch):
    monkeypatch.setattr(bulk, "VIEW_BATCH", 2)
    made = [conversation_make(granted, title=f"P{n}", peer_id=500 + n, texts=("Hi",)) for n in range(5)]
    hot = Label.objects.create(name="hot")
    data = {"all": "1", "view": "", "action": "label_add", "label": str(hot.pk)}
    said = []
    for _ in range(3):
        said.append(
            operator_client.post(reverse("inbox:bulk"), data, headers={"HX-Request": "true"}).content.decode()
        )
    assert "2 labelled “hot”; 3 more in this view: apply again" in said[0]
    assert "2 labelled “hot”; 1 more in this view: apply again" in said[1]
    assert "1 labelled “hot”" in said[2] and "more in this view" not in said[2]
    assert Conversation.labels.through.objects.filter(label=hot).count() == len(made)


def test_open_inboxes_hear_of_a_bulk_action_once(operator, mine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        bulk.bulk_close(by=operator, ids=_ids(mine))
    assert len(callbacks) == 1  # one bump for the account, not one per conversation


@pytest.mark.django_db(transaction=True)
def test_two_operators_adding_the_same_label_at_once_both_succeed(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    convos = [conversation_make(account, title=f"P{n}", peer_id=n + 1, texts=("Hi",)) for n in range(30)]
    hot = Label.objects.create(name="hot")
    errors, results = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(bulk.bulk_label(by=operator, ids=_ids(convos), label=hot, add=True))
        except Exception as error:  # the test reports any failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Conversation.labels.through.objects.filter(label=hot).count() == 30
    assert sum(r.done for r in results) >= 30 and all(not r.refused for r in results)


# --- the view --------------------------------------------------------------------------------------------


def test_the_bulk_view_answers_htmx_with_the_sentence_and_refreshes_the_list(operator_client, mine, theirs):
    response = operator_client.post(
        reverse("inbox:bulk"),
        {"ids": [*_ids(mine), str(theirs.pk)], "action": "close"},
        headers={"HX-Request": "true", "HX-Target": "bulk-result"},
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "inbox:list"
    assert "3 closed, 1 skipped (no access)" in response.content.decode()
    assert 'id="bulk-result"' in response.content.decode()
    assert Conversation.objects.get(pk=theirs.pk).state == "open"


def test_the_bulk_view_without_javascript_redirects_with_the_sentence(operator_client, mine):
    response = operator_client.post(
        reverse("inbox:bulk"), {"ids": _ids(mine), "action": "close", "view": "state=open"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("inbox:index") + "?state=open"
    assert "3 closed" in response.content.decode()


def test_the_bulk_view_needs_a_csrf_token(client, operator, mine):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(operator)
    response = csrf_client.post(reverse("inbox:bulk"), {"ids": _ids(mine), "action": "close"})
    assert response.status_code == 403
    assert not Conversation.objects.filter(state="closed").exists()


def test_the_bulk_view_is_post_only(operator_client):
    assert operator_client.get(reverse("inbox:bulk")).status_code == 405


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "explode"}, "Choose what to do"),
        ({"action": "label_add", "label": "999999"}, "Choose a label"),
        ({"action": "label_add", "label": "\x00"}, "Choose a label"),
        ({"action": "assign", "assignee": "9" * 5000}, "Choose whom"),
        ({"action": "assign", "assignee": "-3"}, "Choose whom"),
    ],
)
def test_a_bad_bulk_request_is_explained_and_changes_nothing(operator_client, mine, data, message):
    response = operator_client.post(
        reverse("inbox:bulk"), {"ids": _ids(mine), **data}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert "HX-Trigger" not in response
    assert not Conversation.objects.filter(state="closed").exists()
    assert not Conversation.objects.exclude(assignee=None).exists()
    assert not Conversation.labels.through.objects.exists()


def test_select_all_in_the_view_acts_on_the_views_conversations_only(operator_client, mine, theirs):
    Conversation.objects.filter(pk=mine[0].pk).update(unread_count=2)
    count = operator_client.get(
        reverse("inbox:index"), {"unread": "1"}, headers={"HX-Request": "true", "HX-Target": "bulk-all"}
    )
    assert "All 1 conversations in this view are selected" in count.content.decode()
    response = operator_client.post(
        reverse("inbox:bulk"),
        {"all": "1", "view": "unread=1", "action": "assign", "assignee": "me"},
        headers={"HX-Request": "true"},
    )
    assert "1 assigned to otto" in response.content.decode()
    assert list(Conversation.objects.exclude(assignee=None).values_list("pk", flat=True)) == [mine[0].pk]


def test_the_inbox_page_offers_bulk_actions_with_a_checkbox_per_row(operator_client, mine):
    page = operator_client.get(reverse("inbox:index")).content.decode()
    assert 'id="bulk-form"' in page
    for c in mine:
        assert f'id="pick-{c.pk}"' in page and 'form="bulk-form"' in page
    assert "{#" not in page and "#}" not in page  # no template comment leaks onto the page


def test_the_single_assign_refuses_a_forged_user_instead_of_unassigning(operator_client, operator, mine):
    Conversation.objects.filter(pk=mine[0].pk).update(assignee=operator)
    url = reverse("inbox:assign", args=[mine[0].pk])
    response = operator_client.post(url, {"assignee": "9" * 30}, headers={"HX-Request": "true"})
    assert "That user cannot be assigned" in response.content.decode()
    assert Conversation.objects.get(pk=mine[0].pk).assignee == operator


def test_the_single_assign_says_why_it_refuses(operator_client, operator, outsider, mine):
    url = reverse("inbox:assign", args=[mine[0].pk])
    response = operator_client.post(url, {"assignee": outsider.pk}, headers={"HX-Request": "true"})
    assert "olga may not see conversations of Sales One" in response.content.decode()
    assert Conversation.objects.get(pk=mine[0].pk).assignee is None
