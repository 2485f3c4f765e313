"""Reports: one page (cards, tables, the funnel), a chart fragment loaded by htmx, and CSV of each table."""

from __future__ import annotations

import csv
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports import selectors, tables


def _options(request: HttpRequest) -> dict[str, Any]:
    """The page's switches, parsed once (unknown values fall back to the defaults)."""
    query = request.GET
    by = query.get("by", "account")
    funnel_by = query.get("funnel", "campaign")
    return {
        "period": selectors.Period.from_query(query),
        "by": by if by in selectors.DIMENSIONS else "account",
        "funnel_by": funnel_by if funnel_by in selectors.FUNNEL_DIMENSIONS else "campaign",
        "business": query.get("hours") == "business",
    }


def _query(options: dict[str, Any], **changes: Any) -> str:
    values = {
        "range": options["period"].key,
        "by": options["by"],
        "funnel": options["funnel_by"],
        "hours": "business" if options["business"] else "clock",
        **changes,
    }
    return "&".join(f"{k}={v}" for k, v in values.items())


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    options = _options(request)
    period, business = options["period"], options["business"]
    team = selectors.team_report(user=request.user, period=period, by=options["by"], business=business)
    # The cards sum the table's rows where each conversation, message and reply has one row: its account,
    # or its assignee and sender. A conversation has any number of labels: grouped by label, the cards sum
    # per-account rows read apart, without the percentiles they do not show.
    counted = (
        team
        if options["by"] != "label"
        else selectors.team_report(
            user=request.user, period=period, by="account", business=business, counts_only=True
        )
    )
    funnel = selectors.funnel(user=request.user, period=period, by=options["funnel_by"])
    context = {
        **options,
        "query": _query(options),
        "ranges": [(key, _query(options, range=key)) for key in selectors.RANGES],
        "dimensions": [(key, _query(options, by=key)) for key in selectors.DIMENSIONS],
        "funnel_dimensions": [(key, _query(options, funnel=key)) for key in selectors.FUNNEL_DIMENSIONS],
        "hours_links": [(key, _query(options, hours=key)) for key in ("clock", "business")],
        "cards": selectors.team_totals(counted),
        "team": tables.team_table(team),
        "funnel": tables.funnel_table(funnel),
        "enough_sends": selectors.ENOUGH_SENDS,
    }
    template = "reports/index.html"
    if getattr(request, "htmx", False):
        template += "#report"
    return render(request, template, context)


@require_GET
def chart(request: HttpRequest) -> HttpResponse:
    """The response-time histogram as data for static/reports/reports.js (no inline script: CSP)."""
    options = _options(request)
    histogram = selectors.response_histogram(
        user=request.user, period=options["period"], business=options["business"]
    )
    data = {"labels": list(selectors.BUCKET_LABELS), **histogram}
    return render(request, "reports/_chart.html", {"data": data, "table": tables.histogram_table(histogram)})


@require_GET
def csv_export(request: HttpRequest, table: str) -> HttpResponse:
    """Any table of the page as CSV, from the same selector rows the page shows (durations in seconds)."""
    options = _options(request)
    period, business = options["period"], options["business"]
    if table == "team":
        rows = selectors.team_report(user=request.user, period=period, by=options["by"], business=business)
        found, name = tables.team_table(rows), f"team-by-{options['by']}"
    elif table == "funnel":
        funnel = selectors.funnel(user=request.user, period=period, by=options["funnel_by"])
        found, name = tables.funnel_table(funnel), f"funnel-by-{options['funnel_by']}"
    elif table == "histogram":
        histogram = selectors.response_histogram(user=request.user, period=period, business=business)
        found, name = tables.histogram_table(histogram), "response-times"
    else:
        raise Http404("No such table")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{period.key}.csv"'
    writer = csv.writer(response)
    writer.writerow(found.headers)
    for row in found.rows:
        writer.writerow(["" if v is None else _csv_safe(v) for v in row])
    return response


def _csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @) is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
