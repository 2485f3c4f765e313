"""Saved views (inbox.saved): named filters, private or shared by admins, normalised when saved and checked
against the reader whenever read."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from inbox import saved
from inbox.models import Conversation, Label, SavedView
from tests.support.inbox import conversation_make


@pytest.fixture
def granted(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    return account


@pytest.fixture
def hidden(make_account):
    return make_account(status=Account.Status.ACTIVE)


@pytest.fixture
def convos(granted):
    made = [conversation_make(granted, title=f"Buyer {n}", peer_id=100 + n, texts=("Hi",)) for n in range(4)]
    Conversation.objects.filter(pk__in=[c.pk for c in made[:3]]).update(unread_count=1)
    return made


def test_a_view_stores_only_known_filters_in_one_order(operator, granted):
    view = saved.view_save(
        user=operator,
        name="  Hot   unread ",
        query=f"page=7&unread=on&zzz=1&account={granted.pk}&q=flat&state=open&who=bogus&kind=private",
    )
    assert view.name == "Hot unread"
    assert view.query == f"q=flat&kind=private&account={granted.pk}&unread=1"


def test_hostile_values_are_dropped_not_stored(operator, hidden):
    view = saved.view_save(
        user=operator,
        name="Odd",
        query=f"q=a%00b&account={hidden.pk}&label={'9' * 5000}&campaign=-4&state=%00&unread=%00",
    )
    assert view.query == "q=ab"


def test_the_count_is_what_the_view_shows_the_reader(operator, convos, hidden):
    conversation_make(hidden, title="Secret", peer_id=9, texts=("x",), unread=5)
    saved.view_save(user=operator, name="Unread", query="unread=1")
    (row,) = saved.views_rows(user=operator)
    assert (row.query, row.count, row.dropped) == ("unread=1", 3, [])


def test_the_count_stops_at_its_cap(operator, granted, monkeypatch):
    monkeypatch.setattr(saved, "COUNT_CAP", 2)
    for n in range(4):
        conversation_make(granted, title=f"P{n}", peer_id=n + 1, texts=("Hi",))
    saved.view_save(user=operator, name="All", query="")
    assert saved.views_rows(user=operator)[0].count == 3  # cap + 1: the page shows "more"


def test_a_deleted_label_is_dropped_and_explained(operator, convos):
    hot = Label.objects.create(name="hot")
    view = saved.view_save(user=operator, name="Hot", query=f"label={hot.pk}&unread=1")
    hot.delete()
    query, dropped = saved.view_open(user=operator, view=view)
    assert query == "unread=1" and dropped == ["its label was deleted"]
    assert saved.views_rows(user=operator)[0].dropped == ["its label was deleted"]


def test_an_account_no_longer_granted_is_dropped_and_explained(operator, granted, convos):
    view = saved.view_save(user=operator, name="Desk", query=f"account={granted.pk}")
    granted.operators.remove(operator)
    query, dropped = saved.view_open(user=operator, view=view)
    assert query == "" and dropped == ["its account is not one you may see"]
    assert saved.views_rows(user=operator)[0].count == 0


def test_a_shared_view_is_checked_against_each_reader(admin_user, operator, hidden):
    view = saved.view_save(user=admin_user, name="Hidden desk", query=f"account={hidden.pk}", shared=True)
    assert view.query == f"account={hidden.pk}"
    query, dropped = saved.view_open(user=operator, view=view)
    assert query == "" and dropped == ["its account is not one you may see"]


def test_only_admins_share(operator):
    with pytest.raises(PermissionDenied):
        saved.view_save(user=operator, name="Everyone", query="", shared=True)
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Name the view"), ("   ", "Name the view"), ("a\x00b", "NUL"), ("x" * 61, "too long")],
)
def test_a_bad_name_is_refused(operator, name, message):
    with pytest.raises(ValueError, match=message):
        saved.view_save(user=operator, name=name, query="")


def test_names_are_unique_per_owner(operator, outsider):
    saved.view_save(user=operator, name="Mine", query="")
    with pytest.raises(ValueError, match="already have a view named"):
        saved.view_save(user=operator, name="Mine", query="unread=1")
    saved.view_save(user=outsider, name="Mine", query="")  # another user's name is theirs
    other = saved.view_save(user=operator, name="Other", query="")
    with pytest.raises(ValueError, match="already a view named"):
        saved.view_rename(user=operator, view=other, name="Mine")


def test_a_user_has_at_most_so_many_views(operator, monkeypatch):
    monkeypatch.setattr(saved, "MAX_VIEWS", 2)
    saved.view_save(user=operator, name="a", query="")
    saved.view_save(user=operator, name="b", query="")
    with pytest.raises(ValueError, match="2 saved views already"):
        saved.view_save(user=operator, name="c", query="")


def test_another_users_private_view_is_not_found(operator, outsider):
    view = saved.view_save(user=outsider, name="Private", query="")
    with pytest.raises(Http404):
        saved.view_get(user=operator, view_id=view.pk)
    assert saved.views_rows(user=operator) == []


def test_a_shared_view_is_seen_by_everyone_but_changed_by_its_owner_or_an_admin(admin_user, operator):
    view = saved.view_save(user=admin_user, name="Team queue", query="who=unassigned", shared=True)
    assert [r.view.name for r in saved.views_rows(user=operator)] == ["Team queue"]
    for change in (
        lambda: saved.view_rename(user=operator, view=view, name="Mine now"),
        lambda: saved.view_delete(user=operator, view=view),
        lambda: saved.view_move(user=operator, view=view, step=1),
    ):
        with pytest.raises(PermissionDenied):
            change()
    assert SavedView.objects.get(pk=view.pk).name == "Team queue"


def test_views_are_listed_own_first_and_move_up_and_down(admin_user, operator):
    saved.view_save(user=admin_user, name="Shared", query="", shared=True)
    a = saved.view_save(user=operator, name="A", query="")
    saved.view_save(user=operator, name="B", query="unread=1")
    c = saved.view_save(user=operator, name="C", query="who=mine")
    assert [r.view.name for r in saved.views_rows(user=operator)] == ["A", "B", "C", "Shared"]
    saved.view_move(user=operator, view=c, step=-1)
    saved.view_move(user=operator, view=a, step=-1)  # already first: nothing moves
    assert [v.name for v in saved.views_visible(user=operator)] == ["A", "C", "B", "Shared"]


# --- the views ---------------------------------------------------------------------------------------------


def test_saving_from_the_page_and_opening_it_again(operator_client, operator, convos):
    response = operator_client.post(
        reverse("inbox:view_save"), {"name": "Unread", "query": "unread=1&page=3"}
    )
    view = SavedView.objects.get(owner=operator)
    assert response.url == reverse("inbox:view_open", args=[view.pk])
    opened = operator_client.get(response.url)
    assert opened.url == reverse("inbox:index") + "?unread=1"
    page = operator_client.get(opened.url).content.decode()
    assert f'href="{reverse("inbox:view_open", args=[view.pk])}"' in page and "Unread" in page
    assert 'aria-current="true"' in page  # the open view is marked


def test_opening_a_stale_view_explains_what_it_dropped(operator_client, operator, convos):
    hot = Label.objects.create(name="hot")
    view = saved.view_save(user=operator, name="Hot", query=f"label={hot.pk}")
    hot.delete()
    page = operator_client.get(reverse("inbox:view_open", args=[view.pk]), follow=True).content.decode()
    assert "“Hot” shows less than it was saved with: its label was deleted." in page


def test_an_operator_asking_to_share_gets_403(operator_client):
    response = operator_client.post(reverse("inbox:view_save"), {"name": "All", "query": "", "shared": "1"})
    assert response.status_code == 403 and not SavedView.objects.exists()


def test_another_users_view_is_404_to_open_rename_move_and_delete(operator_client, outsider):
    view = saved.view_save(user=outsider, name="Private", query="")
    assert operator_client.get(reverse("inbox:view_open", args=[view.pk])).status_code == 404
    for name in ("view_rename", "view_delete", "view_move"):
        response = operator_client.post(reverse(f"inbox:{name}", args=[view.pk]), {"name": "Taken"})
        assert response.status_code == 404
    assert SavedView.objects.get(pk=view.pk).name == "Private"


def test_a_shared_view_is_403_to_change_for_an_operator(operator_client, admin_user):
    view = saved.view_save(user=admin_user, name="Queue", query="", shared=True)
    assert operator_client.post(reverse("inbox:view_delete", args=[view.pk])).status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_rename_and_delete_from_the_page(operator_client, operator):
    view = saved.view_save(user=operator, name="Old", query="")
    response = operator_client.post(
        reverse("inbox:view_rename", args=[view.pk]), {"name": "New", "query": "unread=1"}
    )
    assert response.url == reverse("inbox:index") + "?unread=1"
    assert SavedView.objects.get(pk=view.pk).name == "New"
    refused = operator_client.post(reverse("inbox:view_rename", args=[view.pk]), {"name": ""}, follow=True)
    assert "Name the view" in refused.content.decode()
    operator_client.post(reverse("inbox:view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_saving_needs_a_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(reverse("inbox:view_save"), {"name": "x", "query": ""}).status_code == 403
    assert not SavedView.objects.exists()


def test_the_counts_refresh_as_an_htmx_fragment(operator_client, operator, convos):
    saved.view_save(user=operator, name="Unread", query="unread=1")
    response = operator_client.get(
        reverse("inbox:index"), {"unread": "1"}, headers={"HX-Request": "true", "HX-Target": "saved-views"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<nav id="saved-views"') and 'aria-label="3 conversations"' in body
    assert "conv-list" not in body


@pytest.mark.parametrize("view_id", ["0", "-1", "9" * 30])
def test_odd_view_ids_are_404(operator_client, view_id):
    assert operator_client.get(f"/inbox/views/{view_id}/").status_code == 404
