"""Settings → Teams rules (teams.services): names, one team per account, membership as access, capacity."""

from __future__ import annotations

import pytest

from accounts.models import Account, AccountEvent
from teams import services
from teams.models import Member, Team, TeamAccount
from teams.services import TeamError

pytestmark = pytest.mark.django_db


def test_a_name_is_required_unique_whatever_its_case_and_plain(sales):
    with pytest.raises(TeamError, match="already"):
        services.team_create(name="  sALES ")
    with pytest.raises(TeamError, match="name"):
        services.team_create(name="   ")
    with pytest.raises(TeamError, match="NUL"):
        services.team_create(name="Sup\x00port")
    with pytest.raises(TeamError, match="lone surrogate"):
        services.team_create(name="\ud800")
    with pytest.raises(TeamError, match="too long"):
        services.team_create(name="x" * 61)
    support = services.team_create(name="  Support   desk ")
    assert support.name == "Support desk"
    with pytest.raises(TeamError, match="already"):
        services.team_rename(team=support, name="sales")
    assert services.team_rename(team=support, name="Help").name == "Help"


def test_an_account_belongs_to_one_team_at_most_and_the_refusal_names_the_owner(sales, admin_user):
    support = services.team_create(name="Support")
    with pytest.raises(TeamError, match="belongs to team “Sales”: an account belongs to one team at most"):
        services.team_account_add(team=support, account_id=sales.one.pk, by=admin_user)
    with pytest.raises(TeamError, match="in this team already"):
        services.team_account_add(team=sales.team, account_id=sales.one.pk, by=admin_user)
    assert TeamAccount.objects.get(account=sales.one).team == sales.team
    services.team_account_remove(team=sales.team, account_id=sales.one.pk, by=admin_user)
    services.team_account_add(team=support, account_id=sales.one.pk, by=admin_user)  # free now
    assert TeamAccount.objects.get(account=sales.one).team == support


def test_unknown_accounts_users_and_members_are_refused(sales, admin_user):
    for account_id in (None, 10**18):
        with pytest.raises(TeamError, match="Choose an account"):
            services.team_account_add(team=sales.team, account_id=account_id, by=admin_user)
    with pytest.raises(TeamError, match="not in this team"):
        services.team_account_remove(team=sales.team, account_id=10**18, by=admin_user)
    with pytest.raises(TeamError, match="Choose an active user"):
        services.member_add(team=sales.team, user_id=10**18, capacity=1, by=admin_user)
    with pytest.raises(TeamError, match="in this team already"):
        services.member_add(team=sales.team, user_id=sales.otto.user_id, capacity=1, by=admin_user)
    with pytest.raises(TeamError, match="not in this team"):
        services.member_remove(team=sales.team, member_id=10**18, by=admin_user)


def test_another_teams_member_cannot_be_changed_through_this_team(sales, admin_user, outsider):
    support = services.team_create(name="Support")
    theirs = services.member_add(team=support, user_id=outsider.pk, capacity=2, by=admin_user)
    with pytest.raises(TeamError, match="not in this team"):
        services.member_set_capacity(team=sales.team, member_id=theirs.pk, capacity=9)
    with pytest.raises(TeamError, match="not in this team"):
        services.member_remove(team=sales.team, member_id=theirs.pk, by=admin_user)
    assert Member.objects.get(pk=theirs.pk).capacity == 2


def test_a_deactivated_user_cannot_join(sales, admin_user, outsider):
    outsider.is_active = False
    outsider.save()
    with pytest.raises(TeamError, match="active user"):
        services.member_add(team=sales.team, user_id=outsider.pk, capacity=1, by=admin_user)


@pytest.mark.parametrize(
    "value", ["", " ", "-1", "201", "1.5", "٣", "1_0", "9" * 5000, "0x10", None, "5\x00"]
)
def test_capacity_is_a_plain_whole_number_in_range(value):
    with pytest.raises(TeamError, match="Capacity is a whole number from 0 to 200"):
        services.capacity_parse(value)


def test_capacity_accepts_zero_to_the_maximum():
    assert [services.capacity_parse(v) for v in ("0", " 7 ", "200")] == [0, 7, 200]


def test_joining_grants_the_teams_accounts_and_leaving_revokes_them(sales, admin_user, outsider):
    member = services.member_add(team=sales.team, user_id=outsider.pk, capacity=3, by=admin_user)
    assert set(outsider.granted_accounts.all()) == {sales.one, sales.two}
    event = AccountEvent.objects.filter(account=sales.one, kind="operators_changed").latest("id")
    assert (
        event.detail == {"granted": [outsider.pk]} and event.actor == admin_user
    )  # on the account's history
    services.member_remove(team=sales.team, member_id=member.pk, by=admin_user)
    assert not outsider.granted_accounts.exists()


def test_an_account_joining_is_granted_to_every_member_and_leaving_revokes_it(
    sales, make_account, admin_user, operator, bea
):
    third = make_account(status=Account.Status.ACTIVE)
    services.team_account_add(team=sales.team, account_id=third.pk, by=admin_user)
    assert set(third.operators.all()) == {operator, bea}
    services.team_account_remove(team=sales.team, account_id=third.pk, by=admin_user)
    assert not third.operators.exists()
    assert set(sales.one.operators.all()) == {operator, bea}  # the others untouched


def test_deleting_a_team_revokes_its_grants_and_keeps_assignments(sales, admin_user, operator):
    from tests.support.teams import arrive

    convo = arrive(sales.one)
    assert convo.assignee == operator
    services.team_delete(team=sales.team, by=admin_user)
    assert not Team.objects.exists() and not Member.objects.exists() and not TeamAccount.objects.exists()
    assert not operator.granted_accounts.exists()
    convo.refresh_from_db()
    assert convo.assignee == operator


def test_admins_join_without_grants(sales, admin_user):
    services.member_add(team=sales.team, user_id=admin_user.pk, capacity=1, by=admin_user)
    assert not admin_user.granted_accounts.exists()


def test_a_newcomer_takes_their_turn_after_everyone_already_there(sales, admin_user, outsider):
    from tests.support.teams import arrive, online

    assert arrive(sales.one).assignee_id == sales.otto.user_id
    services.member_add(team=sales.team, user_id=outsider.pk, capacity=3, by=admin_user)
    online(outsider)
    got = [arrive(sales.one).assignee_id for _ in range(3)]
    assert got == [sales.bea.user_id, sales.otto.user_id, outsider.pk]


def test_a_deleted_team_cannot_be_changed(sales, admin_user):
    stale = Team.objects.get(pk=sales.team.pk)
    services.team_delete(team=sales.team, by=admin_user)
    with pytest.raises(TeamError, match="deleted meanwhile"):
        services.team_rename(team=stale, name="Again")
