"""The board, the deal pages and the deal part of the conversation pane. Every write form works without
JavaScript (a plain POST and a redirect); with htmx or the board's script the same URL answers with
the fragment to swap in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from crm.parsing import parse_id
from inbox.selectors import conversation_get
from pipeline import selectors, services
from pipeline.forms import DealForm
from pipeline.models import Deal, DealMove, Stage
from pipeline.services import PipelineError


def _wants_fragment(request: HttpRequest) -> bool:
    """htmx, or the board's drag-and-drop script (which posts with fetch)."""
    return bool(getattr(request, "htmx", False)) or request.headers.get("X-Requested-With") == "fetch"


def _board(request: HttpRequest, *, notice: str = "", status: int = 200) -> HttpResponse:
    shown = {}
    stage_id, count = parse_id(request.GET.get("stage")), parse_id(request.GET.get("shown"))
    if stage_id is not None and count is not None:  # "Show more" without JavaScript: one column grows
        shown[stage_id] = count
    columns = selectors.board(user=request.user, shown=shown)
    context = {
        "columns": columns,
        "stages": Stage.objects.all(),
        "notice": notice,
        "page": selectors.COLUMN_PAGE,
    }
    template = "pipeline/board.html#board" if _wants_fragment(request) else "pipeline/board.html"
    return render(request, template, context, status=status)


def panel_context(*, conversation: Any, user: Any) -> dict[str, Any]:
    """What the conversation pane's deal panel shows: the contact's open deal, its other deals, the
    recent stage history, and (when there is no open deal) a form for a new one."""
    contact = conversation.contact
    deals = selectors.contact_deals(contact=contact) if contact else []
    open_deal = next((d for d in deals if d.closed_at is None), None)
    history = list(
        DealMove.objects.filter(deal__contact=contact).select_related("by", "deal")[:10] if contact else []
    )
    return {
        "conversation": conversation,
        "contact": contact,
        "open_deal": open_deal,
        "closed_deals": [d for d in deals if d.closed_at is not None],
        "history": history,
        "stages": Stage.objects.all(),
        "new_form": DealForm(initial={"owner": user, "stage": selectors.first_open_stage()}),
    }


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Every stage as a column with the deals the user sees; drag a card, or use its Move button."""
    return _board(request)


@require_GET
def column_more(request: HttpRequest, stage_id: int) -> HttpResponse:
    """The next cards of a column (``offset``: how many it shows), and its "Show more" button anew."""
    stage = get_object_or_404(Stage, pk=stage_id)
    offset = min(parse_id(request.GET.get("offset")) or 0, selectors.MAX_SHOWN)
    deals = selectors.column_deals(
        user=request.user, stage_id=stage.pk, offset=offset, limit=selectors.COLUMN_PAGE + 1
    )
    context = {
        "stage": stage,
        "deals": deals[: selectors.COLUMN_PAGE],
        "shown": offset + min(len(deals), selectors.COLUMN_PAGE),
        "has_more": len(deals) > selectors.COLUMN_PAGE,
        "stages": Stage.objects.all(),
        "page": selectors.COLUMN_PAGE,
    }
    return render(request, "pipeline/board.html#column_more", context)


def _pane(request: HttpRequest, conversation_id: int, **extra: Any) -> HttpResponse:
    """The deal panel of a conversation, after a write from it."""
    conversation = conversation_get(user=request.user, conversation_id=conversation_id)
    if not _wants_fragment(request):
        for problem in [v for k, v in extra.items() if k.endswith("error") and v]:
            messages.error(request, problem)
        return redirect("inbox:conversation", conversation.pk)
    context = panel_context(conversation=conversation, user=request.user) | extra
    return render(request, "pipeline/_deal_panel.html", context)


@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal from the stage the mover saw it in (``from_stage``) to ``to_stage``. A deal moved by
    someone else meanwhile is left alone and the board (or pane) shows where it is now."""
    deal = selectors.deal_get(user=request.user, deal_id=pk)
    pane = parse_id(request.GET.get("pane"))
    from_stage = parse_id(request.POST.get("from_stage"))
    to_stage = Stage.objects.filter(pk=parse_id(request.POST.get("to_stage")) or 0).first()
    error, status = "", 200
    if from_stage is None or to_stage is None:
        error, status = "Choose the stage to move the deal to", 400
    else:
        try:
            services.deal_move(deal=deal, from_stage_id=from_stage, to_stage=to_stage, by=request.user)
        except PipelineError as problem:
            error, status = str(problem), 409
    if pane is not None:
        return _pane(request, pane, move_error=error)
    if _wants_fragment(request):
        return _board(request, notice=error, status=status)
    if error:
        messages.error(request, error)
    if request.POST.get("back") == "deal":
        return redirect("pipeline:deal", pk)
    return redirect("pipeline:board")


def deal_new(request: HttpRequest) -> HttpResponse:
    """A new deal for a contact the user sees (``?contact=``), from the board or the conversation pane."""
    contact = selectors.contact_get(user=request.user, contact_id=parse_id(request.GET.get("contact")) or 0)
    pane = parse_id(request.GET.get("pane"))
    form = DealForm(
        request.POST or None, initial={"owner": request.user, "stage": selectors.first_open_stage()}
    )
    if request.method == "POST":
        deal = _create(request, form, contact)
        if deal is not None:
            if pane is not None:
                return _pane(request, pane)
            return redirect("pipeline:deal", deal.pk)
        if pane is not None and _wants_fragment(request):
            return _pane(request, pane, new_form=form)
    return render(request, "pipeline/deal_new.html", {"form": form, "contact": contact})


def _create(request: HttpRequest, form: DealForm, contact: Any) -> Deal | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return services.deal_create(
            contact=contact,
            title=data["title"],
            value=data["value"],
            currency=data["currency"],
            owner=data["owner"],
            expected_close=data["expected_close"],
            stage=data.get("stage"),
            by=request.user,
        )
    except PipelineError as problem:
        form.add_error(None, str(problem))
        return None


def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A deal: edit what it says, move it, and read its stage history."""
    deal = selectors.deal_get(user=request.user, deal_id=pk)
    initial = {f: getattr(deal, f) for f in ("title", "currency", "owner", "expected_close")}
    form = DealForm(request.POST or None, initial={**initial, "value": deal.value}, with_stage=False)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.deal_update(
                deal=deal,
                title=data["title"],
                value=data["value"],
                currency=data["currency"],
                owner=data["owner"],
                expected_close=data["expected_close"],
            )
            messages.success(request, "Saved")
            return redirect("pipeline:deal", deal.pk)
        except PipelineError as problem:
            form.add_error(None, str(problem))
    context = {
        "deal": deal,
        "form": form,
        "stages": Stage.objects.all(),
        "history": selectors.deal_history(deal=deal),
        "conversations": selectors.contact_conversations(contact=deal.contact, user=request.user),
    }
    return render(request, "pipeline/deal.html", context, status=400 if form.errors else 200)
