"""Tasks (a conversation's, "My tasks") and notifications (the list, the unread count, preferences, the
notify stream): thin views over inbox.todo and inbox.notify."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm import live as push
from crm.parsing import parse_id
from inbox import notify, selectors, todo
from inbox.models import Conversation


def _zone(request: HttpRequest) -> Any:
    return notify.prefs_get(user=request.user).zone()


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    # Only our own paths: a "next" pointing elsewhere would make these forms an open redirect.
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


def _assignee_from(request: HttpRequest, conversation: Conversation) -> Any:
    pk = parse_id(request.POST.get("assignee"))
    if pk is None:
        return request.user
    return selectors.assignees(conversation=conversation).filter(pk=pk).first()


def _task_fields(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    due = todo.due_parse(request.POST.get("due", ""), zone=_zone(request))
    assignee = _assignee_from(request, conversation)
    return {"title": request.POST.get("title", ""), "due_at": due, "assignee": assignee}


def conversation_tasks(request: HttpRequest, pk: int) -> HttpResponse:
    """The conversation's tasks and a form for a new one (GET); POST creates one."""
    convo = selectors.conversation_get(user=request.user, conversation_id=pk)
    error = ""
    if request.method == "POST":
        try:
            todo.task_create(conversation=convo, by=request.user, **_task_fields(request, convo))
        except ValueError as problem:
            error = str(problem)
        if not request.htmx:  # type: ignore[attr-defined]
            if error:
                flash.error(request, error)
            return _back(request, reverse("inbox:conversation", args=[convo.pk]))
    zone = _zone(request)
    context = {
        "conversation": convo,
        "tasks": todo.tasks_of(conversation=convo),
        "people": selectors.assignees(conversation=convo),
        "task_error": error,
        "form": request.POST if error else {},
        "zone": zone,
    }
    return render(request, "inbox/_tasks.html", context, status=400 if error else 200)


def my_tasks(request: HttpRequest) -> HttpResponse:
    mine = todo.tasks_mine(user=request.user)
    return render(request, "inbox/tasks.html", {"mine": mine, "zone": _zone(request)})


def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    task = todo.task_get(user=request.user, task_id=task_id)
    zone = _zone(request)
    error = ""
    if request.method == "POST":
        try:
            todo.task_update(task=task, by=request.user, **_task_fields(request, task.conversation))
        except ValueError as problem:
            error = str(problem)
        else:
            return _back(request, reverse("inbox:tasks"))
    context = {
        "task": task,
        "people": selectors.assignees(conversation=task.conversation),
        "error": error,
        "due": request.POST.get("due") if error else todo.due_local_value(task.due_at, zone=zone),
        "title": request.POST.get("title") if error else task.title,
        "zone": zone,
    }
    return render(request, "inbox/task_edit.html", context, status=400 if error else 200)


@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    task = todo.task_get(user=request.user, task_id=task_id)
    todo.task_set_done(task=task, done=request.POST.get("done") != "0")
    return _back(request, reverse("inbox:tasks"))


@require_POST
def task_delete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = todo.task_get(user=request.user, task_id=task_id)
    todo.task_delete(task=task)
    flash.success(request, f"Deleted the task “{task.title}”")
    return _back(request, reverse("inbox:tasks"))


# --- notifications -----------------------------------------------------------------------------------


def notifications(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": notify.notifications_recent(user=request.user),
        "unread": notify.unread_count(user=request.user),
    }
    return render(request, "inbox/notifications.html", context)


@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    if not notify.notification_read(user=request.user, notification_id=notification_id):
        raise PermissionDenied
    return _back(request, reverse("inbox:notifications"))


@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notify.notifications_read_all(user=request.user)
    return _back(request, reverse("inbox:notifications"))


@require_GET
def notifications_unread(request: HttpRequest) -> JsonResponse:
    """The unread count, and the unread notifications newer than ``after`` (for browser notifications,
    only when the user allows them)."""
    after = 0 if request.GET.get("after") == "0" else parse_id(request.GET.get("after"))
    prefs = notify.prefs_get(user=request.user)
    fresh = notify.notifications_after(user=request.user, after=after) if after is not None else []
    return JsonResponse(
        {
            "count": notify.unread_count(user=request.user),
            "browser": prefs.browser,
            "latest": max([n.pk for n in fresh], default=after or 0),
            "new": [
                {
                    "id": n.pk,
                    "title": n.get_kind_display(),
                    "body": n.text,
                    "url": reverse("inbox:conversation", args=[n.conversation_id])
                    if n.conversation_id
                    else reverse("inbox:notifications"),
                }
                for n in fresh
            ],
        }
    )


@require_GET
async def notifications_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """A ``notify`` event whenever the user gets a notification, for pages without the inbox stream
    (which carries the same events)."""
    user = await request.auser()
    if not user.is_authenticated:
        raise PermissionDenied
    return push.stream_response(
        request, channels=[push.user_notify_channel(user.pk)], patterns=[], closing=[]
    )


def preferences(request: HttpRequest) -> HttpResponse:
    prefs = notify.prefs_get(user=request.user)
    error = ""
    if request.method == "POST":
        try:
            prefs = notify.prefs_save(
                user=request.user,
                messages="messages" in request.POST,
                mentions="mentions" in request.POST,
                tasks_due="tasks_due" in request.POST,
                assigned="assigned" in request.POST,
                browser="browser" in request.POST,
                zone=request.POST.get("timezone", ""),
            )
        except ValueError as problem:
            error = str(problem)
        else:
            flash.success(request, "Saved your notification preferences")
            return redirect("inbox:preferences")
    return render(
        request,
        "inbox/preferences.html",
        {"prefs": prefs, "error": error, "zones": notify.zones()},
        status=400 if error else 200,
    )
