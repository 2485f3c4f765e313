"""Reads for Settings → Teams: each team with its accounts, its members (online or not, load, accounts
they lack a grant for) and what waits unassigned on its accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from accounts.models import Account
from crm.models import User
from crm.presence import online_since
from inbox.models import Conversation
from teams.models import Member, Team, TeamAccount


@dataclass
class MemberRow:
    member: Member
    online: bool
    open: int  # open conversations assigned to them now (any account)
    ungranted: list[Account] = field(default_factory=list)  # team accounts they may not see


@dataclass
class TeamRow:
    team: Team
    accounts: list[Account]
    members: list[MemberRow]
    waiting: int  # open conversations on the team's accounts that nobody is assigned to


def teams_overview() -> list[TeamRow]:
    teams = list(Team.objects.order_by("name"))
    owned: dict[int, list[Account]] = {t.pk: [] for t in teams}
    for link in TeamAccount.objects.select_related("account").order_by("account__phone"):
        owned[link.team_id].append(link.account)
    members = list(Member.objects.select_related("user").order_by("user__username"))
    users = {m.user_id for m in members}
    load = dict(
        Conversation.objects.filter(assignee__in=users, state=Conversation.State.OPEN)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    granted = set(
        Account.operators.through.objects.filter(user_id__in=users).values_list("account_id", "user_id")
    )
    waiting = dict(
        Conversation.objects.filter(
            account__team_ownership__isnull=False,
            assignee__isnull=True,
            state=Conversation.State.OPEN,
            outreach_pending=False,
        )
        .exclude(kind=Conversation.Kind.CHANNEL)
        .values("account__team_ownership__team")
        .annotate(n=Count("pk"))
        .values_list("account__team_ownership__team", "n")
    )
    since = online_since()
    rows = []
    for team in teams:
        mine = [
            MemberRow(
                member=m,
                online=bool(m.user.is_active and m.user.last_seen_at and m.user.last_seen_at > since),
                open=load.get(m.user_id, 0),
                ungranted=[]
                if m.user.is_admin
                else [a for a in owned[team.pk] if (a.pk, m.user_id) not in granted],
            )
            for m in members
            if m.team_id == team.pk
        ]
        rows.append(
            TeamRow(team=team, accounts=owned[team.pk], members=mine, waiting=waiting.get(team.pk, 0))
        )
    return rows


def accounts_choosable() -> list[tuple[Account, str]]:
    """Every account with the team that owns it ("" when none), for the "add an account" list."""
    return [
        (a, a.team_ownership.team.name if hasattr(a, "team_ownership") else "")
        for a in Account.objects.select_related("team_ownership__team").order_by("phone")
    ]


def users_choosable() -> list[Any]:
    return list(User.objects.filter(is_active=True).order_by("username"))
