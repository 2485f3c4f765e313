"""Auto-assignment: a new conversation on an account a team owns goes, round-robin, to one of the team's
members who is online (crm.presence) and below their capacity (open conversations assigned to them).

"New" is an inbound message, stored by ingestion, in an open conversation nobody is assigned to: a first
message, a closed conversation the person reopened, or the person's first answer to a campaign (whose
first outbound message keeps it out of the Open queue, and out of here, until then). Messages older
than MAX_AGE when stored (old chats brought in by the backfill after onboarding) assign nothing; nor do
channels, which nobody answers.

Race-safe across session hosts: the teams concerned are locked (by id), then every membership of their
members (by id), inside the storing transaction, so two arrivals at once are assigned one after the
other, each counting what the other assigned; a conversation is claimed only while still unassigned.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from accounts.models import Account
from crm.presence import online_since
from inbox import notify
from inbox import services as inbox_services
from inbox import signals as inbox_signals
from inbox.models import Conversation, Message
from teams.models import Member, Team

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)

NO_MEMBERS = "the team has no members"
NOBODY_ONLINE = "no operator online"
NOBODY_MAY_SEE = "no online member is granted the account"
ALL_FULL = "all online operators are at capacity"


on_messages_stored = inbox_signals.on_received(
    lambda ids: conversations_auto_assign(message_ids=ids), what="auto-assign their conversations"
)


def conversations_auto_assign(*, message_ids: Iterable[int]) -> dict[int, int]:
    """Assign the new conversations these received messages belong to; returns conversation id →
    assignee id for those assigned."""
    waiting = _waiting(list(message_ids))
    if not waiting:
        return {}
    state = _locked_state(waiting)
    picks: dict[int, Member] = {}  # conversation id → member
    outcome: dict[int, str] = {}  # team id → why its latest new conversation stayed unassigned, or ""
    for conversation in waiting:
        team = state.teams.get(state.owners[conversation.account_id])
        if team is None or not team.auto_assign:
            continue  # the locked row may say auto-assignment was turned off meanwhile
        members = [m for m in state.members if m.team_id == team.pk]
        pick, outcome[team.pk] = _choose(members, conversation=conversation, state=state)
        if pick is not None:
            pick.last_turn = max(m.last_turn for m in members) + 1
            state.load[pick.user_id] += 1
            picks[conversation.pk] = pick
    claimed = _write(waiting, picks=picks, outcome=outcome, teams=state.teams)
    return {pk: picks[pk].user_id for pk in claimed}


def _write(
    waiting: list[Conversation], *, picks: dict[int, Member], outcome: dict[int, str], teams: dict[int, Team]
) -> set[int]:
    """A few statements whatever the batch: the claims, the turns, the notifications, the reasons; returns
    the conversations claimed. One someone assigned by hand meanwhile keeps its assignee (that member's
    turn is spent)."""
    claimed = set(inbox_services.conversations_claim(assignees={pk: m.user_id for pk, m in picks.items()}))
    Member.objects.bulk_update({m.pk: m for m in picks.values()}.values(), ["last_turn"])
    for team_id, team in teams.items():
        mine = [c for c in waiting if c.pk in claimed and picks[c.pk].team_id == team_id]
        for conversation in mine:
            conversation.assignee_id = picks[conversation.pk].user_id
        if mine:
            notify.team_assigned_notify(conversations=mine, team=team.name)
    for team_id, reason in sorted(outcome.items()):
        Team.objects.filter(pk=team_id).update(
            unassigned_reason=reason, unassigned_at=timezone.now() if reason else None
        )
    return claimed


@dataclass
class _State:
    """What one assignment run reads once, under its locks."""

    owners: dict[int, int]  # account id → its team's id
    teams: dict[int, Team]
    members: list[Member]
    load: Counter[int]  # user id → open conversations assigned to them
    granted: set[tuple[int, int]]  # (account id, user id)
    since: datetime  # online: seen after this


def _locked_state(waiting: list[Conversation]) -> _State:
    """Lock the teams of these conversations' accounts (by id), then every membership of their members
    (by id): capacity counts every open conversation of a user, whichever team gave it, so an arrival
    on another team that shares someone waits too. Then read the load under those locks."""
    accounts = {c.account_id for c in waiting}
    owners = dict(Account.objects.filter(pk__in=accounts).values_list("pk", "team_ownership__team"))
    locked = Team.objects.select_for_update().filter(pk__in=set(owners.values())).order_by("pk")
    teams = {t.pk: t for t in locked}
    members = list(Member.objects.filter(team__in=teams).select_related("user").order_by("pk"))
    users = {m.user_id for m in members}
    list(Member.objects.select_for_update().filter(user__in=users).order_by("pk").values_list("pk"))
    open_now = (
        Conversation.objects.filter(assignee__in=users, state=Conversation.State.OPEN)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    grants = Account.operators.through.objects.filter(account_id__in=accounts, user_id__in=users)
    return _State(
        owners=owners,
        teams=teams,
        members=members,
        load=Counter(dict(open_now)),
        granted=set(grants.values_list("account_id", "user_id")),
        since=online_since(),
    )


def _waiting(message_ids: list[int]) -> list[Conversation]:
    """The open, unassigned conversations (not channels) on accounts of auto-assigning teams that these
    messages arrived in, in the order they arrived (one query, nothing when no team auto-assigns)."""
    rows = (
        Conversation.objects.filter(
            messages__pk__in=message_ids,
            messages__direction=Message.Direction.IN,
            messages__date__gte=timezone.now() - MAX_AGE,
            assignee__isnull=True,
            state=Conversation.State.OPEN,
            outreach_pending=False,
            account__team_ownership__team__auto_assign=True,
        )
        .exclude(kind=Conversation.Kind.CHANNEL)
        .annotate(first=Min("messages__pk"))
        .order_by("first")
    )
    return list(rows)


def _choose(members: list[Member], *, conversation: Conversation, state: _State) -> tuple[Member | None, str]:
    """The member whose turn it is, or None and why nobody can take it."""
    if not members:
        return None, NO_MEMBERS
    online = [
        m for m in members if m.user.is_active and m.user.last_seen_at and m.user.last_seen_at > state.since
    ]
    if not online:
        return None, NOBODY_ONLINE
    may_see = [m for m in online if m.user.is_admin or (conversation.account_id, m.user_id) in state.granted]
    if not may_see:
        return None, NOBODY_MAY_SEE
    free = [m for m in may_see if state.load[m.user_id] < m.capacity]
    if not free:
        return None, ALL_FULL
    return min(free, key=lambda m: (m.last_turn, m.pk)), ""
