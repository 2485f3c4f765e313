"""Saved views: an inbox search and filters kept under a name, private or shared with everyone (admins
share), listed beside the inbox with live counts.

A view stores its filters normalised (``Filters.to_query``: known filters only, in one order). What it
names can go stale — a label deleted, an account no longer granted — so every read checks the filters
against the reader (``selectors.filters_checked``): a stale value is dropped and the reason shown,
never a 500 and never a look at what the reader may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Case, Max, Q, QuerySet, Value, When
from django.http import Http404, QueryDict

from crm.parsing import text_problem
from inbox import selectors
from inbox.models import SavedView

MAX_NAME = 60
MAX_VIEWS = 50  # a user's own views; past that the sidebar is no help
COUNT_CAP = 999  # a badge counts to "999+"


@dataclass(frozen=True)
class ViewRow:
    """A saved view as a reader sees it: its filters checked against them, the conversations they show."""

    view: SavedView
    query: str  # the checked filters, ready for a link
    count: int  # COUNT_CAP + 1 means "more"
    dropped: list[str]  # why filters were dropped from it for this reader


def views_visible(*, user: Any) -> QuerySet[SavedView]:
    """The user's own views in their order, then the views others shared."""
    others = Case(When(owner=user, then=Value(0)), default=Value(1))
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by(others, "owner_id", "position", "name", "id")
    )


def views_rows(*, user: Any) -> list[ViewRow]:
    rows = []
    for view in views_visible(user=user):
        filters, dropped = selectors.filters_checked(user=user, filters=_filters(view.query))
        count = selectors.conversation_count(user=user, filters=filters, cap=COUNT_CAP)
        rows.append(ViewRow(view=view, query=filters.to_query(), count=count, dropped=dropped))
    return rows


def view_get(*, user: Any, view_id: int) -> SavedView:
    """A view the user may open (their own, or a shared one); 404 otherwise (existence not revealed)."""
    view = views_visible(user=user).filter(pk=view_id).first()
    if view is None:
        raise Http404("No such view")
    return view


def view_open(*, user: Any, view: SavedView) -> tuple[str, list[str]]:
    """The view's filters for this user as a query string, and why any were dropped."""
    filters, dropped = selectors.filters_checked(user=user, filters=_filters(view.query))
    return filters.to_query(), dropped


def view_save(*, user: Any, name: str, query: str, shared: bool = False) -> SavedView:
    """Save the filters of ``query`` (a list's query string) under ``name``. Only admins share. Raises
    ValueError (shown as it is) for an empty, long or taken name, or a user with MAX_VIEWS views."""
    name = _name(name)
    if shared and not getattr(user, "is_admin", False):
        raise PermissionDenied("Only admins share views")
    filters, _ = selectors.filters_checked(user=user, filters=_filters(query))
    with transaction.atomic():
        mine = SavedView.objects.select_for_update().filter(owner=user)
        if len(mine) >= MAX_VIEWS:
            raise ValueError(f"You have {MAX_VIEWS} saved views already: delete one first")
        last = mine.aggregate(n=Max("position"))["n"]
        try:
            with transaction.atomic():
                return SavedView.objects.create(
                    owner=user,
                    name=name,
                    query=filters.to_query(),
                    shared=shared,
                    position=0 if last is None else last + 1,
                )
        except IntegrityError:
            raise ValueError(f"You already have a view named “{name}”") from None


def view_rename(*, user: Any, view: SavedView, name: str) -> None:
    _may_change(user, view)
    name = _name(name)
    if SavedView.objects.filter(owner=view.owner, name=name).exclude(pk=view.pk).exists():
        raise ValueError(f"There is already a view named “{name}”")
    try:
        SavedView.objects.filter(pk=view.pk).update(name=name)
    except IntegrityError:  # renamed to the same name at the same moment
        raise ValueError(f"There is already a view named “{name}”") from None
    view.name = name


def view_delete(*, user: Any, view: SavedView) -> None:
    _may_change(user, view)
    SavedView.objects.filter(pk=view.pk).delete()


def view_move(*, user: Any, view: SavedView, step: int) -> None:
    """Move the view one place up (``step`` -1) or down (+1) among its owner's views."""
    _may_change(user, view)
    with transaction.atomic():
        order = list(
            SavedView.objects.select_for_update()
            .filter(owner=view.owner)
            .order_by("position", "name", "id")
            .values_list("pk", flat=True)
        )
        at = order.index(view.pk) if view.pk in order else -1
        to = at + step
        if at < 0 or not 0 <= to < len(order):
            return
        order[at], order[to] = order[to], order[at]
        for position, pk in enumerate(order):
            SavedView.objects.filter(pk=pk).update(position=position)


def _may_change(user: Any, view: SavedView) -> None:
    """Owners change their views; admins change shared ones too. Others may look, not touch (403)."""
    if view.owner_id == user.pk or (view.shared and getattr(user, "is_admin", False)):
        return
    raise PermissionDenied("Only its owner (or an admin, for a shared view) changes a view")


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValueError("Name the view")
    if problem := text_problem(name, max_length=MAX_NAME):
        raise ValueError(problem)
    return name


def _filters(query: str) -> selectors.Filters:
    return selectors.Filters.from_query(QueryDict(query.lstrip("?")[:4000]))
