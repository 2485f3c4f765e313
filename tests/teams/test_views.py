"""Settings → Teams over HTTP: admins only, every change and every refusal visible on the page."""

from __future__ import annotations

import pytest

from accounts.models import Account
from teams.models import Member, Team, TeamAccount
from tests.support.inbox import conversation_make
from tests.support.teams import arrive, offline, online

pytestmark = pytest.mark.django_db

URL = "/settings/teams/"


def _routes(sales) -> list[str]:
    t, m = sales.team.pk, sales.otto.pk
    return [
        URL,
        f"{URL}{t}/",
        f"{URL}{t}/auto-assign/",
        f"{URL}{t}/delete/",
        f"{URL}{t}/accounts/",
        f"{URL}{t}/accounts/remove/",
        f"{URL}{t}/members/",
        f"{URL}{t}/members/{m}/",
        f"{URL}{t}/members/{m}/remove/",
    ]


def test_operators_get_403_everywhere_and_change_nothing(sales, operator_client):
    for route in _routes(sales):
        assert operator_client.get(route).status_code == 403, route
        assert operator_client.post(route, {"name": "Mine", "on": "0", "capacity": "99"}).status_code == 403
    team = Team.objects.get()
    assert (team.name, team.auto_assign, Member.objects.count()) == ("Sales", True, 2)


def test_anonymous_visitors_are_sent_to_sign_in(sales, client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_shows_teams_accounts_members_presence_and_load(sales, admin_client, operator, bea):
    arrive(sales.one)  # Otto's turn
    offline(bea)
    page = admin_client.get(URL).content.decode()
    assert "Membership is access" in page and "seen in the last 10 minutes" in page
    assert f'id="team-{sales.team.pk}"' in page and "auto-assignment on" in page
    assert str(sales.one) in page and str(sales.two) in page
    otto_row = page.split(f'id="member-{sales.otto.pk}"')[1].split("</tr>")[0]
    bea_row = page.split(f'id="member-{sales.bea.pk}"')[1].split("</tr>")[0]
    assert "online" in otto_row and "<td>1</td>" in otto_row
    assert "offline" in bea_row and "seen" in bea_row
    assert 'href="/settings/teams/"' in admin_client.get("/settings/users/").content.decode()  # linked


def test_the_page_says_why_a_new_conversation_stayed_unassigned(sales, admin_client, operator, bea):
    offline(operator, bea)
    arrive(sales.one)
    page = admin_client.get(URL).content.decode()
    assert "1 open conversation on its accounts waits unassigned" in page
    assert "stayed unassigned: no operator online." in page


def test_an_unassigned_conversation_says_why_auto_assignment_left_it(sales, admin_client, operator, bea):
    offline(operator, bea)
    waiting = arrive(sales.one)
    pane = admin_client.get(f"/inbox/c/{waiting.pk}/").content.decode()
    assert "Team Sales assigns new conversations by itself" in pane
    assert "no operator online. The next message here tries again." in pane
    online(operator)
    taken = arrive(sales.one)
    assert taken.assignee_id == operator.pk
    for pk in (waiting.pk, taken.pk):  # the reason is gone once a later one was assigned
        pane = admin_client.get(f"/inbox/c/{pk}/").content.decode()
        assert "assigns new conversations by itself" not in pane


def test_a_conversation_outside_any_team_says_nothing_of_teams(make_account, admin_client):
    account = make_account(status=Account.Status.ACTIVE)
    c = conversation_make(account, title="Solo", peer_id=901, texts=("Hi",))
    pane = admin_client.get(f"/inbox/c/{c.pk}/")
    assert pane.status_code == 200
    assert "assigns new conversations" not in pane.content.decode()


def test_the_page_warns_of_a_member_without_a_grant(sales, admin_client, operator):
    sales.one.operators.remove(operator)
    page = admin_client.get(URL).content.decode()
    otto_row = page.split(f'id="member-{sales.otto.pk}"')[1].split("</tr>")[0]
    assert f"Not granted {sales.one}" in otto_row


def test_an_admin_creates_renames_toggles_and_deletes(admin_client):
    assert admin_client.post(URL, {"name": "Support"}).status_code == 302
    team = Team.objects.get(name="Support")
    assert admin_client.post(f"{URL}{team.pk}/", {"name": "Helpdesk"}).status_code == 302
    assert admin_client.post(f"{URL}{team.pk}/auto-assign/", {"on": "1"}).status_code == 302
    team.refresh_from_db()
    assert (team.name, team.auto_assign) == ("Helpdesk", True)
    assert admin_client.post(f"{URL}{team.pk}/delete/").status_code == 302
    assert not Team.objects.exists()


def test_accounts_and_members_are_added_changed_and_removed(sales, admin_client, make_account, outsider):
    from accounts.models import Account

    third = make_account(status=Account.Status.ACTIVE)
    t = sales.team.pk
    assert admin_client.post(f"{URL}{t}/accounts/", {"account": str(third.pk)}).status_code == 302
    assert TeamAccount.objects.filter(team=sales.team, account=third).exists()
    assert (
        admin_client.post(f"{URL}{t}/members/", {"user": str(outsider.pk), "capacity": "3"}).status_code
        == 302
    )
    member = Member.objects.get(team=sales.team, user=outsider)
    assert member.capacity == 3 and third in outsider.granted_accounts.all()
    assert admin_client.post(f"{URL}{t}/members/{member.pk}/", {"capacity": "7"}).status_code == 302
    assert Member.objects.get(pk=member.pk).capacity == 7
    assert admin_client.post(f"{URL}{t}/members/{member.pk}/remove/").status_code == 302
    assert admin_client.post(f"{URL}{t}/accounts/remove/", {"account": str(third.pk)}).status_code == 302
    assert not Member.objects.filter(user=outsider).exists() and not TeamAccount.objects.filter(account=third)


def test_a_second_team_for_an_account_is_refused_in_plain_words(sales, admin_client):
    support = Team.objects.create(name="Support")
    response = admin_client.post(f"{URL}{support.pk}/accounts/", {"account": str(sales.one.pk)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "belongs to team “Sales”: an account belongs to one team at most, so remove it there first" in page
    assert "— in team Sales" in page  # the list says so before anyone tries
    assert TeamAccount.objects.get(account=sales.one).team == sales.team


@pytest.mark.parametrize("value", ["Sup\x00port", "x" * 5_000, ""], ids=["nul", "long", "empty"])
def test_hostile_names_are_refused_with_a_reason(sales, admin_client, value):
    response = admin_client.post(URL, {"name": value})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    response = admin_client.post(f"{URL}{sales.team.pk}/", {"name": value})
    assert response.status_code == 400
    assert list(Team.objects.values_list("name", flat=True)) == ["Sales"]


@pytest.mark.parametrize("value", ["9" * 5_000, "-1", "1\x00", "٣", "1e3", "9223372036854775808"])
def test_hostile_capacities_and_ids_are_refused_and_change_nothing(sales, admin_client, outsider, value):
    t, m = sales.team.pk, sales.otto.pk
    response = admin_client.post(f"{URL}{t}/members/{m}/", {"capacity": value})
    assert response.status_code == 400 and "Capacity is a whole number" in response.content.decode()
    response = admin_client.post(f"{URL}{t}/members/", {"user": str(outsider.pk), "capacity": value})
    assert response.status_code == 400
    for route, field in ((f"{URL}{t}/accounts/", "account"), (f"{URL}{t}/members/", "user")):
        response = admin_client.post(route, {field: value, "capacity": "1"})
        assert response.status_code == 400 and "Choose" in response.content.decode()
    assert admin_client.post(f"{URL}{t}/auto-assign/", {"on": value}).status_code == 400
    assert Member.objects.get(pk=m).capacity == 5 and not Member.objects.filter(user=outsider).exists()
    assert Team.objects.get().auto_assign is True


@pytest.mark.parametrize("pk", ["9" * 5_000, "9223372036854775808", "0"])
def test_huge_or_unknown_ids_in_the_path_are_404(sales, admin_client, pk):
    assert admin_client.post(f"{URL}{pk}/", {"name": "X"}).status_code == 404
    assert admin_client.post(f"{URL}{sales.team.pk}/members/{pk}/", {"capacity": "1"}).status_code in (
        400,
        404,
    )
    assert admin_client.post(f"{URL}{sales.team.pk}/members/{pk}/remove/").status_code in (400, 404)
    assert Member.objects.count() == 2


def test_another_teams_ids_change_nothing_here(sales, admin_client, outsider):
    support = Team.objects.create(name="Support")
    theirs = Member.objects.create(team=support, user=outsider, capacity=2)
    response = admin_client.post(f"{URL}{sales.team.pk}/members/{theirs.pk}/", {"capacity": "9"})
    assert response.status_code == 400 and "not in this team" in response.content.decode()
    response = admin_client.post(f"{URL}{sales.team.pk}/members/{theirs.pk}/remove/")
    assert response.status_code == 400
    response = admin_client.post(f"{URL}{support.pk}/accounts/remove/", {"account": str(sales.one.pk)})
    assert response.status_code == 400 and "not in this team" in response.content.decode()
    assert Member.objects.get(pk=theirs.pk).capacity == 2
    assert TeamAccount.objects.get(account=sales.one).team == sales.team
