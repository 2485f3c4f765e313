"""Settings → Stages: admins keep the board's columns (add, rename, reorder, won/lost kinds, delete an
empty one)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.permissions import admin_required
from pipeline import services
from pipeline.models import Stage
from pipeline.services import PipelineError


def _page(
    request: HttpRequest, *, errors: dict[int, str] | None = None, status: int = 200, **extra: Any
) -> HttpResponse:
    errors = errors or {}
    rows = [(stage, errors.get(stage.pk, "")) for stage in Stage.objects.annotate(used=Count("deals"))]
    context = {"rows": rows, "kinds": Stage.Kind.choices, **extra}
    return render(request, "pipeline/settings_stages.html", context, status=status)


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    """Every stage in board order with how many deals it holds; add one at the end."""
    if request.method == "POST":
        name, kind = request.POST.get("name", ""), request.POST.get("kind", Stage.Kind.OPEN)
        try:
            services.stage_create(name=name, kind=kind)
        except PipelineError as problem:
            return _page(request, new_error=str(problem), new_name=name, status=400)
        return redirect("stages:index")
    return _page(request)


@admin_required
@require_POST
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    try:
        services.stage_update(
            stage=stage, name=request.POST.get("name", ""), kind=request.POST.get("kind", "")
        )
    except PipelineError as problem:
        return _page(request, errors={pk: str(problem)}, status=400)
    return redirect("stages:index")


@admin_required
@require_POST
def shift(request: HttpRequest, pk: int) -> HttpResponse:
    """One place left (``by=-1``) or right (``by=1``) on the board."""
    by = {"-1": -1, "1": 1}.get(request.POST.get("by", ""), 0)
    services.stage_shift(stage=get_object_or_404(Stage, pk=pk), by=by)
    return redirect("stages:index")


@admin_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Only an empty stage goes; otherwise the page says how many deals are in it."""
    try:
        services.stage_delete(stage=get_object_or_404(Stage, pk=pk))
    except PipelineError as problem:
        return _page(request, errors={pk: str(problem)}, status=400)
    return redirect("stages:index")
