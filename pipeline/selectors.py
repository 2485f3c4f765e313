"""Reads of the pipeline. A person sees the deals of the contacts they meet through the accounts granted
to them (inbox.selectors.conversations_visible); admins see every deal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from inbox.models import Contact
from inbox.selectors import contacts_visible, conversations_visible
from pipeline.models import Deal, DealMove, Stage


def deals_visible(*, user: Any) -> QuerySet[Deal]:
    if getattr(user, "is_admin", False):
        return Deal.objects.all()
    return Deal.objects.filter(contact_id__in=conversations_visible(user=user).values("contact_id"))


def contact_get(*, user: Any, contact_id: int) -> Contact:
    contact = contacts_visible(user=user).filter(pk=contact_id).first()
    if contact is None:
        raise Http404("No such contact")
    return contact


def deal_get(*, user: Any, deal_id: int) -> Deal:
    """The deal if the user may see it; 404 otherwise (its existence is not revealed)."""
    deal = deals_visible(user=user).select_related("contact", "stage", "owner").filter(pk=deal_id).first()
    if deal is None:
        raise Http404("No such deal")
    return deal


def owners() -> QuerySet[Any]:
    """Who may own a deal: every active user."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


COLUMN_PAGE = 50  # cards a column shows at first, and how many more each "Show more" adds
MAX_SHOWN = 5_000  # cards one column renders at most, however far "Show more" went without JavaScript


@dataclass
class Column:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    totals: list[tuple[str, Decimal]] = field(default_factory=list)  # (currency, sum), one per currency
    count: int = 0

    @property
    def more(self) -> int:
        """Deals in the column past the cards it shows."""
        return max(self.count - len(self.deals), 0)


def board(*, user: Any, shown: dict[int, int] | None = None) -> list[Column]:
    """One column per stage, in board order, with the newest COLUMN_PAGE deals the user sees (latest
    change first; ``shown`` asks a column for more), the column's count and its totals per currency.
    A stage with thousands of deals renders a page of them, not all."""
    shown = shown or {}
    columns = {stage.pk: Column(stage=stage) for stage in Stage.objects.all()}
    for stage_id, column in columns.items():
        limit = min(max(shown.get(stage_id, COLUMN_PAGE), COLUMN_PAGE), MAX_SHOWN)
        column.deals = column_deals(user=user, stage_id=stage_id, offset=0, limit=limit)
    sums = (
        deals_visible(user=user)
        .values("stage_id", "currency")
        .annotate(total=Sum("value"), n=Count("id"))
        .order_by("stage_id", "currency")
    )
    for row in sums:
        column = columns[row["stage_id"]]
        column.totals.append((row["currency"], row["total"]))
        column.count += row["n"]
    return list(columns.values())


def column_deals(*, user: Any, stage_id: int, offset: int, limit: int = COLUMN_PAGE) -> list[Deal]:
    """A page of a stage's deals the user sees, latest change first."""
    deals = deals_visible(user=user).filter(stage_id=stage_id).select_related("contact", "owner")
    return list(deals.order_by("-updated_at", "-id")[offset : offset + limit])


def contact_deals(*, contact: Contact) -> list[Deal]:
    """A contact's deals, the open one first, then the closed ones newest first."""
    rows = Deal.objects.filter(contact=contact).select_related("stage", "owner")
    return sorted(rows, key=lambda d: (d.closed_at is not None, -d.updated_at.timestamp()))


def deal_history(*, deal: Deal) -> list[DealMove]:
    return list(deal.moves.select_related("by"))


@dataclass(frozen=True)
class TimelineEntry:
    """One dated line for a contact's timeline."""

    at: dt.datetime
    kind: str  # "deal_created" or "deal_moved"
    text: str
    deal_id: int
    by: str  # the username, "" when unknown


def timeline_entries(contact_id: int, user: Any) -> list[TimelineEntry]:
    """Every stage change of the contact's deals (creation included), newest first; nothing for a
    contact the user does not see. For the contact timeline."""
    if not contacts_visible(user=user).filter(pk=contact_id).exists():
        return []
    moves = DealMove.objects.filter(deal__contact_id=contact_id).select_related("deal", "by")
    entries = []
    for move in moves:
        if move.from_name or move.from_stage_id:
            kind, text = (
                "deal_moved",
                f"Deal “{move.deal.title}” moved from {move.from_name} to {move.to_name}",
            )
        else:
            kind, text = "deal_created", f"Deal “{move.deal.title}” created in {move.to_name}"
        by = move.by.get_username() if move.by else ""
        entries.append(TimelineEntry(at=move.at, kind=kind, text=text, deal_id=move.deal_id, by=by))
    return entries


def first_open_stage() -> Stage | None:
    return Stage.objects.filter(kind=Stage.Kind.OPEN).first()


def contact_conversations(*, contact: Contact, user: Any) -> list[Any]:
    """The contact's conversations the user may open (links from a deal back to the inbox)."""
    return list(conversations_visible(user=user).filter(contact=contact).select_related("account")[:10])
