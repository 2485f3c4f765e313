"""Writes about teams, kept by admins on Settings → Teams: name, auto-assignment, the accounts a team owns
and its members with their capacity.

Access follows the team: a member is granted every account the team owns, and an account added to a
team is granted to every member; a member who leaves (or an account that leaves, or a deleted team) has
those grants revoked. Grants are the accounts' own (``Account.operators``, recorded on each account's
history), so the inbox, the streams and the API need to know nothing of teams. Admins see every account
and need no grant.

Every write locks its team row first, the order auto-assignment takes too (teams.assign), so the two
never wait on each other in opposite order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Account
from accounts.services import account_operator_grant
from crm.models import User
from crm.parsing import text_problem
from teams.models import MAX_CAPACITY, Member, Team, TeamAccount

MAX_NAME = 60
_CAPACITY = re.compile(r"[0-9]{1,4}")


class TeamError(ValueError):
    """A change that cannot be made; the message is shown to the admin as it is."""


def name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if problem := text_problem(name, max_length=MAX_NAME):
        raise TeamError(problem)
    if not name:
        raise TeamError("Give the team a name")
    return name


def capacity_parse(value: Any) -> int:
    """A capacity from a form: ASCII digits, 0 … MAX_CAPACITY."""
    text = value.strip() if isinstance(value, str) else ""
    if not _CAPACITY.fullmatch(text) or int(text) > MAX_CAPACITY:
        raise TeamError(f"Capacity is a whole number from 0 to {MAX_CAPACITY} (open conversations at once)")
    return int(text)


def _locked(team: Team) -> Team:
    found = Team.objects.select_for_update().filter(pk=team.pk).first()
    if found is None:
        raise TeamError("That team was deleted meanwhile")
    return found


def _save_name(team: Team, name: str) -> Team:
    team.name = name
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise TeamError(f"There is a team “{name}” already") from None
    return team


def team_create(*, name: str) -> Team:
    return _save_name(Team(), name_clean(name))


def team_rename(*, team: Team, name: str) -> Team:
    name = name_clean(name)
    with transaction.atomic():
        return _save_name(_locked(team), name)


def team_set_auto_assign(*, team: Team, on: bool) -> None:
    with transaction.atomic():
        _locked(team)
        Team.objects.filter(pk=team.pk).update(auto_assign=on, unassigned_reason="", unassigned_at=None)


def team_delete(*, team: Team, by: Any) -> None:
    """Delete the team; its members lose the grants of its accounts (conversations stay assigned)."""
    with transaction.atomic():
        team = _locked(team)
        accounts = list(team.owned.values_list("account_id", flat=True))
        _grant(users=_operators(team), account_ids=accounts, grant=False, by=by)
        team.delete()


def team_account_add(*, team: Team, account_id: int | None, by: Any) -> Account:
    """The team owns the account from now on; every member is granted it."""
    with transaction.atomic():
        team = _locked(team)
        account = Account.objects.filter(pk=account_id).first() if account_id else None
        if account is None:
            raise TeamError("Choose an account from the list")
        owner = TeamAccount.objects.select_related("team").filter(account=account).first()
        if owner is not None:
            if owner.team_id == team.pk:
                raise TeamError(f"{account} is in this team already")
            raise TeamError(
                f"{account} belongs to team “{owner.team.name}”: an account belongs to one team "
                "at most, so remove it there first"
            )
        try:
            with transaction.atomic():
                TeamAccount.objects.create(team=team, account=account)
        except IntegrityError:  # another admin gave it to a team at the same moment
            raise TeamError(f"{account} was just added to another team") from None
        _grant(users=_operators(team), account_ids=[account.pk], grant=True, by=by)
    return account


def team_account_remove(*, team: Team, account_id: int | None, by: Any) -> None:
    """The team no longer owns the account; its members lose the grant of it."""
    with transaction.atomic():
        team = _locked(team)
        if account_id is None or not TeamAccount.objects.filter(team=team, account_id=account_id).delete()[0]:
            raise TeamError("That account is not in this team")
        _grant(users=_operators(team), account_ids=[account_id], grant=False, by=by)


def member_add(*, team: Team, user_id: int | None, capacity: int, by: Any) -> Member:
    """Add an active user to the team; they are granted every account it owns."""
    with transaction.atomic():
        team = _locked(team)
        user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        if user is None:
            raise TeamError("Choose an active user from the list")
        if Member.objects.filter(team=team, user=user).exists():
            raise TeamError(f"{user.username} is in this team already")
        member = Member.objects.create(team=team, user=user, capacity=capacity, last_turn=_next_turn(team))
        accounts = list(team.owned.values_list("account_id", flat=True))
        _grant(users=[user], account_ids=accounts, grant=True, by=by)
    return member


def member_set_capacity(*, team: Team, member_id: int, capacity: int) -> None:
    with transaction.atomic():
        team = _locked(team)
        if not Member.objects.filter(team=team, pk=member_id).update(capacity=capacity):
            raise TeamError("That member is not in this team")


def member_remove(*, team: Team, member_id: int, by: Any) -> None:
    """Take a user out of the team; they lose the grants of its accounts (their conversations stay
    theirs until someone reassigns them)."""
    with transaction.atomic():
        team = _locked(team)
        member = Member.objects.select_related("user").filter(team=team, pk=member_id).first()
        if member is None:
            raise TeamError("That member is not in this team")
        member.delete()
        accounts = list(team.owned.values_list("account_id", flat=True))
        _grant(users=[member.user], account_ids=accounts, grant=False, by=by)


def _next_turn(team: Team) -> int:
    """A newcomer's turn: after everyone already there (their first conversation comes after a round)."""
    top = team.members.order_by("-last_turn").values_list("last_turn", flat=True).first()
    return (top or 0) + 1


def _operators(team: Team) -> list[Any]:
    return [m.user for m in team.members.select_related("user")]


def _grant(*, users: Iterable[Any], account_ids: list[int], grant: bool, by: Any) -> None:
    for user in users:
        if account_ids and user.role == User.Role.OPERATOR:  # admins see every account anyway
            account_operator_grant(account_ids=account_ids, operator=user, grant=grant, by=by)
