"""Teams: a set of operators who own a set of accounts, and how new conversations on those accounts are
shared out among them (teams.assign)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Account

MAX_CAPACITY = 200


class Team(models.Model):
    name = models.CharField(max_length=60)
    # New conversations on the team's accounts go round-robin to its online members below capacity.
    auto_assign = models.BooleanField(default=False)
    # Why the latest new conversation stayed unassigned ("no operator online"…), shown on the team page
    # until a later one is assigned.
    unassigned_reason = models.CharField(max_length=200, blank=True, default="")
    unassigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class TeamAccount(models.Model):
    """An account the team owns; an account belongs to at most one team (the one-to-one says so)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="owned")
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="team_ownership")

    def __str__(self) -> str:
        return f"account {self.account_id} of team {self.team_id}"


class Member(models.Model):
    """A user in a team, with how many open conversations auto-assignment may give them at once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    capacity = models.PositiveIntegerField(default=5)  # 0: in the team, but given nothing new (on leave)
    # Round-robin: the member whose last turn is oldest (lowest) is next; each assignment takes the
    # team's highest turn plus one.
    last_turn = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="member_unique_user")]

    def __str__(self) -> str:
        return f"user {self.user_id} in team {self.team_id}"
