"""Settings → Teams: admins create, rename and delete teams, give them accounts and members (with each
member's capacity) and turn auto-assignment on or off. Operators get 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.parsing import parse_id
from crm.permissions import admin_required
from teams import selectors, services
from teams.models import MAX_CAPACITY, Team
from teams.services import TeamError


def _page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "rows": selectors.teams_overview(),
        "accounts": selectors.accounts_choosable(),
        "users": selectors.users_choosable(),
        "online_minutes": settings.USER_ONLINE_MINUTES,
        "max_capacity": MAX_CAPACITY,
        **extra,
    }
    return render(request, "teams/settings_teams.html", context, status=status)


def _change(request: HttpRequest, pk: int, write: Callable[[Team], object]) -> HttpResponse:
    """Apply one change to a team; a refused one shows its reason in the team's card (400)."""
    team = get_object_or_404(Team, pk=pk)
    try:
        write(team)
    except TeamError as problem:
        return _page(request, errors={team.pk: str(problem)}, status=400)
    return redirect(reverse("teams:index") + f"#team-{pk}")


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    """Every team with its accounts, members and auto-assignment; create one."""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            services.team_create(name=name)
        except TeamError as problem:
            return _page(request, new_error=str(problem), new_name=name, status=400)
        return redirect("teams:index")
    return _page(request)


@admin_required
@require_POST
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(
        request, pk, lambda team: services.team_rename(team=team, name=request.POST.get("name", ""))
    )


@admin_required
@require_POST
def auto_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def write(team: Team) -> None:
        on = request.POST.get("on")
        if on not in ("0", "1"):
            raise TeamError("Choose to turn auto-assignment on or off")
        services.team_set_auto_assign(team=team, on=on == "1")

    return _change(request, pk, write)


@admin_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, lambda team: services.team_delete(team=team, by=request.user))


@admin_required
@require_POST
def account_add(request: HttpRequest, pk: int) -> HttpResponse:
    account_id = parse_id(request.POST.get("account"))
    return _change(
        request, pk, lambda team: services.team_account_add(team=team, account_id=account_id, by=request.user)
    )


@admin_required
@require_POST
def account_remove(request: HttpRequest, pk: int) -> HttpResponse:
    account_id = parse_id(request.POST.get("account"))
    return _change(
        request,
        pk,
        lambda team: services.team_account_remove(team=team, account_id=account_id, by=request.user),
    )


@admin_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    user_id = parse_id(request.POST.get("user"))

    def write(team: Team) -> object:
        capacity = services.capacity_parse(request.POST.get("capacity"))
        return services.member_add(team=team, user_id=user_id, capacity=capacity, by=request.user)

    return _change(request, pk, write)


@admin_required
@require_POST
def member_capacity(request: HttpRequest, pk: int, member: int) -> HttpResponse:
    def write(team: Team) -> object:
        capacity = services.capacity_parse(request.POST.get("capacity"))
        services.member_set_capacity(team=team, member_id=member, capacity=capacity)
        return None

    return _change(request, pk, write)


@admin_required
@require_POST
def member_remove(request: HttpRequest, pk: int, member: int) -> HttpResponse:
    return _change(
        request, pk, lambda team: services.member_remove(team=team, member_id=member, by=request.user)
    )
