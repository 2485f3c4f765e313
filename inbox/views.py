"""The operator inbox: one page (list + conversation), fragments for htmx, the live stream (pushed
updates, crm.live) and the cheap poll the page falls back to without it."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from crm import live as push
from crm.parsing import parse_id, parse_ids
from inbox import bulk, live, notify, optout, saved, selectors, services, todo
from inbox.models import Conversation, Label, MediaFile, Message


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


SNOOZES = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}


def _list_context(request: HttpRequest, current: Conversation | None = None) -> dict[str, Any]:
    filters = selectors.Filters.from_query(request.GET)
    rows, has_next = selectors.conversation_list(user=request.user, filters=filters)
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return {
        "filters": filters,
        "conversations": rows,
        "has_next": has_next,
        "current": current,
        "list_url": reverse("inbox:index") + ("?" + request.GET.urlencode() if request.GET else ""),
        "page_query": urlencode(query),
        "accounts": selectors.accounts_visible(user=request.user).order_by("first_name", "phone"),
        "labels": selectors.labels_all(),
        "campaigns": selectors.campaigns_answered(user=request.user),
        "now": timezone.now(),
    }


def _visible_ids(request: HttpRequest) -> list[int] | None:
    if getattr(request.user, "is_admin", False):
        return None
    return list(selectors.accounts_visible(user=request.user).values_list("id", flat=True))


def _pane_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    history, has_older = selectors.history(conversation=conversation)
    return {
        "conversation": conversation,
        "history": history,
        "has_older": has_older,
        "anchor": history[0].pk if history else None,
        "assignees": selectors.assignees(conversation=conversation),
        "labels": selectors.labels_all(),
        "chosen_labels": set(conversation.labels.values_list("id", flat=True)),
        "notes": conversation.notes.select_related("author").order_by("created_at"),
        "canned": selectors.canned_all(),
        "opt_out": optout.opt_outs_of(contact=conversation.contact).first() if conversation.contact else None,
        "now": timezone.now(),
    }


def _page_context(request: HttpRequest) -> dict[str, Any]:
    """What the whole page shows around the list: saved views and the bulk actions' choices."""
    return {
        "saved_views": saved.views_rows(user=request.user),
        "view_query": selectors.Filters.from_query(request.GET).to_query(),
        "bulk_assignees": selectors.assignees_any(user=request.user),
        "version": live.version(_visible_ids(request)),
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    if request.htmx.target == "saved-views":  # a live refresh of the views' counts
        context = {"saved_views": saved.views_rows(user=request.user), **_view_state(request)}
        return render(request, "inbox/index.html#saved_views", context)
    if request.htmx.target == "bulk-all":  # "select all in this view": how many that is
        filters = selectors.Filters.from_query(request.GET)
        count = selectors.conversation_count(user=request.user, filters=filters, cap=bulk.MORE_CAP)
        context = {"count": count, "cap": bulk.MORE_CAP, "batch": bulk.VIEW_BATCH}
        return render(request, "inbox/index.html#bulk_all", context)
    context = _list_context(request)
    if request.htmx:
        return render(request, "inbox/index.html#list", context)
    context.update(_page_context(request))
    return render(request, "inbox/index.html", context)


def _view_state(request: HttpRequest) -> dict[str, Any]:
    return {"view_query": selectors.Filters.from_query(request.GET).to_query()}


@require_GET
def conversation(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    services.conversation_mark_read(conversation=convo)
    context = _pane_context(request, convo)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "inbox/_conversation.html", context)
    context.update(_list_context(request, current=convo))
    context.update(_page_context(request))
    return render(request, "inbox/index.html", context)


@require_GET
def history(request: HttpRequest, pk: int) -> HttpResponse:
    """Older messages (``before``) for scroll-back, or everything ``since`` the pane's first message."""
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    before, since = parse_id(request.GET.get("before")), parse_id(request.GET.get("since"))
    if since is not None:
        services.conversation_mark_read(conversation=convo)
        rows, _ = selectors.history(conversation=convo, since=since)
        context = {"conversation": convo, "history": rows, "anchor": since, "now": timezone.now()}
        return render(request, "inbox/_conversation.html#recent", context)
    rows, has_older = selectors.history(conversation=convo, before=before)
    context = {"conversation": convo, "history": rows, "has_older": has_older, "now": timezone.now()}
    return render(request, "inbox/_conversation.html#older", context)


@require_POST
def reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    error = ""
    try:
        services.reply_send(
            conversation=convo,
            text=request.POST.get("text", ""),
            by=request.user,
            reply_to=parse_id(request.POST.get("reply_to")),
        )
    except ValueError as problem:
        error = str(problem)
    if not request.htmx:  # the plain form (no JavaScript): back to the conversation
        if error:
            flash.error(request, error)
        return redirect("inbox:conversation", pk=convo.pk)
    rows, _ = selectors.history(conversation=convo, since=parse_id(request.POST.get("anchor")))
    context = {"conversation": convo, "history": rows, "anchor": rows[0].pk if rows else None}
    context.update(error=error, now=timezone.now())
    response = render(request, "inbox/_conversation.html#recent", context)
    if error:
        response["HX-Trigger"] = "inbox:reply-refused"
    return response


@require_POST
def retry(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    message = get_object_or_404(Message, pk=message_id, conversation=convo)
    with contextlib.suppress(ValueError):  # already pending or sent: show it as it is
        message = services.reply_retry(message=message, by=request.user)
    message.conversation = convo
    return render(
        request, "inbox/_message.html", {"m": message, "conversation": convo, "now": timezone.now()}
    )


@require_POST
def state(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    action = request.POST.get("action", "")
    if action == "close":
        services.conversation_set_state(conversation=convo, state=Conversation.State.CLOSED, by=request.user)
    elif action == "reopen":
        services.conversation_set_state(conversation=convo, state=Conversation.State.OPEN, by=request.user)
    elif action in SNOOZES:
        until = timezone.now() + SNOOZES[action]
        services.conversation_set_state(
            conversation=convo, state=Conversation.State.SNOOZED, until=until, by=request.user
        )
    return _header(request, convo)


@require_POST
def assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    chosen = request.POST.get("assignee", "")
    assignee = None
    if chosen == "me":
        assignee = request.user
    elif chosen:
        # A forged or stale id is refused, never read as "unassign".
        assignee = selectors.user_active(user_id=chosen)
    error = "That user cannot be assigned" if chosen and assignee is None else ""
    if not error:
        try:
            services.conversation_assign(conversation=convo, assignee=assignee, by=request.user)
        except ValueError as problem:
            error = str(problem)
    if error and not request.htmx:
        flash.error(request, error)
    return _header(request, convo, assign_error=error)


@require_POST
def automation(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Take over (pause automation here) or resume it."""
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    action = request.POST.get("action", "")
    if action in ("pause", "resume"):
        services.conversation_set_automation(conversation=convo, paused=action == "pause", by=request.user)
    return _header(request, convo)


@require_POST
def labels(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    ids = parse_ids(request.POST.getlist("labels"))
    services.conversation_set_labels(
        conversation=convo, labels=list(Label.objects.filter(pk__in=ids)), by=request.user
    )
    return _header(request, convo)


@require_POST
def opt_out(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Do not contact: opt the person out (with a reason), remove the opt-out (admins), or dismiss the
    conversation's opt-out-words flag."""
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    action = request.POST.get("action", "")
    error = ""
    if action == "dismiss":
        optout.conversation_opt_out_dismiss(conversation=convo)
    elif convo.contact is None:
        error = "Only a person can opt out: this chat is a group or a channel"
    elif action == "opt_out":
        try:
            optout.contact_opt_out(
                contact=convo.contact,
                reason=request.POST.get("reason", ""),
                by=request.user,
                conversation=convo,
            )
        except ValueError as problem:
            error = str(problem)
    elif action == "remove":
        optout.contact_opt_out_remove(contact=convo.contact, by=request.user)  # 403 unless an admin
    if not request.htmx:
        if error:
            flash.error(request, error)
        return redirect("inbox:conversation", pk=convo.pk)
    convo.refresh_from_db()
    context = {**_pane_context(request, convo), "opt_out_error": error}
    return render(request, "inbox/_conversation.html#header", context)


def _header(request: HtmxHttpRequest, convo: Conversation, **extra: Any) -> HttpResponse:
    if not request.htmx:
        return redirect("inbox:conversation", pk=convo.pk)
    convo.refresh_from_db()
    context = {**_pane_context(request, convo), **extra}
    return render(request, "inbox/_conversation.html#header", context)


@require_POST
def note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    error, offer = "", None
    try:
        note = services.note_add(conversation=convo, text=request.POST.get("text", ""), by=request.user)
        offer = todo.task_offer(text=note.text, zone=notify.prefs_get(user=request.user).zone())
    except ValueError as problem:
        error = str(problem)
    if not request.htmx:
        if error:
            flash.error(request, error)
        return redirect("inbox:conversation", pk=convo.pk)
    context = {**_pane_context(request, convo), "note_error": error, "task_offer": offer}
    return render(request, "inbox/_conversation.html#notes", context)


INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "audio/ogg", "audio/mpeg", "video/mp4"}


def media_card(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """The media block of a message: POST fetches the file (once); GET shows how the fetch is going."""
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    message = get_object_or_404(Message, pk=message_id, conversation=convo)
    if request.method == "POST":
        status = services.media_request(message=message)
    else:
        status = services.media_status(message=message)
    context = {"m": message, "conversation": convo, "status": status}
    return render(request, "inbox/_media.html", context)


@require_GET
def media_file(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    file = get_object_or_404(MediaFile, message_id=message_id, message__conversation=convo)
    mime = file.mime_type if file.mime_type in INLINE_TYPES else "application/octet-stream"
    response = HttpResponse(bytes(file.data), content_type=mime)
    if mime == "application/octet-stream":
        name = str((file.message.media or {}).get("name") or "")
        name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/')[:100]
        name = name or f"file-{message_id}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def poll(request: HttpRequest) -> HttpResponse:
    """Live updates: 204 while nothing the user can see changed; otherwise the new version and an
    ``inbox:changed`` event, on which the list and the open conversation re-fetch themselves."""
    seen = request.GET.get("v", "")
    current = live.version(_visible_ids(request))
    if seen == str(current):
        return HttpResponse(status=204)
    response = render(request, "inbox/index.html#poll", {"version": current})
    response["HX-Trigger"] = "inbox:changed"
    return response


@require_GET
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Pushed updates: an ``inbox`` event (data: the account id) whenever something changes in the
    conversations of an account the user may see; the page then re-fetches its list and open
    conversation. Ends when the user's rights change, so the browser reconnects with the new ones."""
    user = await request.auser()
    if not user.is_authenticated:  # LoginRequiredMiddleware redirects first; never stream to nobody
        raise PermissionDenied
    channels: list[str] = []
    patterns: list[str] = []
    if getattr(user, "is_admin", False):
        patterns.append(push.account_channel("*"))
    else:
        visible = selectors.accounts_visible(user=user).values_list("id", flat=True)
        channels = [push.account_channel(a) async for a in visible]
    channels.append(push.user_notify_channel(user.pk))  # notify events: the unread count (inbox.notify)
    return push.stream_response(
        request, channels=channels, patterns=patterns, closing=[push.user_channel(user.pk)]
    )
