"""The contacts page, a contact's page, the contact panel beside a conversation, and editing a custom
field's value in place."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from contacts import selectors, services
from contacts.export import contacts_csv
from contacts.fields import FieldError
from contacts.models import CustomField
from contacts.selectors import ContactFilters, FieldRow
from contacts.timeline import PAGE_LIMIT, timeline
from crm.permissions import admin_required


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    """Every contact the user may see: search, filters, pages, a CSV of the filtered set."""
    filters = ContactFilters.from_query(request.GET)
    rows, has_next = selectors.contact_list(user=request.user, filters=filters)
    context: dict[str, Any] = {
        "rows": rows,
        "has_next": has_next,
        "filters": filters,
        "query": filters.query_without_page(),
        **selectors.filter_choices(user=request.user),
    }
    template = "contacts/index.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@require_GET
def export(request: HttpRequest) -> StreamingHttpResponse:
    filters = ContactFilters.from_query(request.GET)
    response = StreamingHttpResponse(
        contacts_csv(user=request.user, filters=filters), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, contact_id=pk)
    context = {
        "panel": selectors.contact_panel(user=request.user, contact=contact),
        "timeline": timeline(user=request.user, contact=contact, limit=PAGE_LIMIT),
        "full": True,
    }
    return render(request, "contacts/detail.html", context)


@require_GET
def panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel beside a conversation (loaded by htmx once the conversation shows)."""
    contact = selectors.contact_get(user=request.user, contact_id=pk)
    context = {
        "panel": selectors.contact_panel(user=request.user, contact=contact),
        "timeline": timeline(user=request.user, contact=contact),
    }
    return render(request, "contacts/_panel.html", context)


@require_POST
def field_value(request: HtmxHttpRequest, pk: int, field_id: int) -> HttpResponse:
    """Set one custom field's value; a refused value comes back with its reason and nothing stored."""
    contact = selectors.contact_get(user=request.user, contact_id=pk)
    field = get_object_or_404(CustomField, pk=field_id)
    raw = request.POST.get("value", "")
    row = FieldRow(field=field)
    try:
        row.value = services.field_value_set(contact=contact, field=field, raw=raw, by=request.user)
    except FieldError as error:
        row.error, row.typed = str(error), raw.replace("\x00", "")[:500]
        row.value = next(
            (r.value for r in selectors.field_rows(contact=contact) if r.field.pk == field.pk), ""
        )
    if not request.htmx:
        if row.error:
            return HttpResponse(row.error, status=400, content_type="text/plain; charset=utf-8")
        return redirect("contacts:detail", pk=contact.pk)
    return render(request, "contacts/_panel.html#field", {"c": contact, "row": row})


def _fields_page(
    request: HttpRequest, *, error: str = "", typed: dict[str, str] | None = None
) -> HttpResponse:
    context = {
        "rows": CustomField.objects.annotate(used=Count("values")),
        "kinds": CustomField.Kind.choices,
        "error": error,
        "typed": typed or {},
    }
    return render(request, "contacts/settings_fields.html", context, status=400 if error else 200)


@admin_required
def fields(request: HttpRequest) -> HttpResponse:
    """Admins define the custom fields every contact has: name, kind, the choices of a choice field."""
    if request.method == "POST":
        typed = {k: request.POST.get(k, "") for k in ("name", "kind", "choices")}
        try:
            services.custom_field_create(**typed)
        except FieldError as error:
            clean = {k: v.replace("\x00", "") for k, v in typed.items()}
            return _fields_page(request, error=str(error), typed=clean)
        return redirect("fields:index")
    return _fields_page(request)


@admin_required
@require_POST
def field_rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a custom field; the contacts' values stay with it."""
    field = get_object_or_404(CustomField, pk=pk)
    try:
        services.custom_field_rename(field=field, name=request.POST.get("name", ""))
    except FieldError as error:
        return _fields_page(request, error=f"{field.name}: {error}")
    return redirect("fields:index")


@admin_required
@require_POST
def field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.custom_field_delete(field=get_object_or_404(CustomField, pk=pk))
    return redirect("fields:index")
