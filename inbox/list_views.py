"""The inbox list's own actions: bulk actions on the selected conversations, and saved views."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.parsing import parse_id
from inbox import bulk as actions
from inbox import saved, selectors
from inbox.models import Label
from inbox.views import HtmxHttpRequest


@require_POST
def bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Apply one action to the selected conversations (``ids``), or to the whole view (``all`` with the
    view's query string in ``view``: the newest VIEW_BATCH it would still change, a batch a press);
    answers with the sentence saying what happened."""
    view_query = request.POST.get("view", "")
    error, result = "", None
    try:
        result = _apply(request, view_query=view_query)
    except ValueError as problem:
        error = str(problem)
    if not request.htmx:
        if result is not None:
            flash.success(request, result.summary())
            for line in result.refusals():
                flash.warning(request, line)
        if error:
            flash.error(request, error)
        return redirect(reverse("inbox:index") + (f"?{view_query}" if view_query else ""))
    response = render(request, "inbox/index.html#bulk_result", {"result": result, "error": error})
    if result is not None:
        response["HX-Trigger"] = "inbox:list"  # the list (and the views' counts) show the change at once
    return response


def _apply(request: HttpRequest, *, view_query: str) -> actions.BulkResult:
    by, action = request.user, request.POST.get("action", "")
    assignee, label = None, None
    if action == "assign":
        assignee = _assignee(request)
    elif action in ("label_add", "label_remove"):
        label_id = parse_id(request.POST.get("label"))
        label = None if label_id is None else Label.objects.filter(pk=label_id).first()
        if label is None:
            raise ValueError("Choose a label (it may have just been deleted)")
    elif action not in ("close", "reopen"):
        raise ValueError("Choose what to do with the selected conversations")
    pending = None
    ids: list[Any] = request.POST.getlist("ids")
    if request.POST.get("all") == "1":
        filters = selectors.Filters.from_query(QueryDict(view_query[:4000]))
        pending = actions.view_pending(
            user=by, filters=filters, action=action, assignee=assignee, label=label
        )
        ids = list(pending.values_list("id", flat=True)[: actions.VIEW_BATCH])
    if action == "close":
        result = actions.bulk_close(by=by, ids=ids)
    elif action == "reopen":
        result = actions.bulk_reopen(by=by, ids=ids)
    elif action == "assign":
        result = actions.bulk_assign(by=by, ids=ids, assignee=assignee)
    else:
        assert label is not None
        result = actions.bulk_label(by=by, ids=ids, label=label, add=action == "label_add")
    if pending is not None:
        result.more = pending.order_by()[: actions.MORE_CAP + 1].count()
    return result


def _assignee(request: HttpRequest) -> Any:
    """The chosen user: "me", an active user's id, or "none" to unassign. Whether they may take each
    conversation is the service's question, asked per conversation."""
    chosen = request.POST.get("assignee", "")
    if chosen == "none":
        return None
    if chosen == "me":
        return request.user
    user = selectors.user_active(user_id=chosen)
    if user is None:
        raise ValueError("Choose whom to assign them to")
    return user


# --- saved views --------------------------------------------------------------------------------------


@require_GET
def view_open(request: HttpRequest, view_id: int) -> HttpResponse:
    """Open a saved view: the inbox with its filters, less any this user can no longer use (said why)."""
    view = saved.view_get(user=request.user, view_id=view_id)
    query, dropped = saved.view_open(user=request.user, view=view)
    if dropped:
        flash.warning(request, f"“{view.name}” shows less than it was saved with: {'; '.join(dropped)}.")
    return redirect(reverse("inbox:index") + (f"?{query}" if query else ""))


@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    try:
        view = saved.view_save(
            user=request.user,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=request.POST.get("shared") == "1",
        )
    except ValueError as problem:
        flash.error(request, str(problem))
        return _back(request)
    flash.success(request, f"Saved the view “{view.name}”.")
    return redirect("inbox:view_open", view_id=view.pk)


@require_POST
def view_rename(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved.view_get(user=request.user, view_id=view_id)
    try:
        saved.view_rename(user=request.user, view=view, name=request.POST.get("name", ""))
    except ValueError as problem:
        flash.error(request, str(problem))
    return _back(request)


@require_POST
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved.view_get(user=request.user, view_id=view_id)
    saved.view_delete(user=request.user, view=view)
    flash.success(request, f"Deleted the view “{view.name}”.")
    return _back(request)


@require_POST
def view_move(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved.view_get(user=request.user, view_id=view_id)
    saved.view_move(user=request.user, view=view, step=-1 if request.POST.get("to") == "up" else 1)
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the inbox as it was (the form sends the list's query string)."""
    query = selectors.Filters.from_query(QueryDict(request.POST.get("query", "")[:4000])).to_query()
    return redirect(reverse("inbox:index") + (f"?{query}" if query else ""))
