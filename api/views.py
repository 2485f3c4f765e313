"""The API pages of the console (admins only): keys — list, create, revoke — and the audit log.

A new key's token is in one answer only: the one to the POST that made it. It is never stored (only its
hash), never put in the session or a flash message, and that answer is marked no-store.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django_htmx.middleware import HtmxDetails

from api import selectors
from api.forms import AuditFilterForm, KeyForm
from api.keys import key_create, key_revoke
from api.models import ApiKey, AuditEntry
from crm.parsing import parse_page
from crm.permissions import admin_required

KEYS_PER_PAGE = 50
ENTRIES_PER_PAGE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@admin_required
def index(request: HtmxHttpRequest) -> HttpResponse:
    """Every key: name, prefix, scopes, accounts, who made it and when, last use, revoked or not."""
    page = Paginator(selectors.key_list(), KEYS_PER_PAGE).get_page(parse_page(request.GET.get("page")))
    template = "api/keys.html"
    if request.htmx:
        template += "#keys"
    return render(request, template, {"page": page})


@sensitive_variables("token")
@admin_required
@never_cache
def key_new(request: HtmxHttpRequest) -> HttpResponse:
    """The form; once valid, the key is made and its token shown in this answer, never again."""
    form = KeyForm(request.POST or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        key, token = key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            accounts=form.cleaned_data["accounts"],
            by=request.user,
        )
        context = {"key": key, "token": token}
    template = "api/key_new.html"
    if request.htmx:
        template += "#key-form"
    return render(request, template, context)


@admin_required
def key_revoke_confirm(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Confirm, then revoke: the key's next call, on either door, answers 401."""
    key = get_object_or_404(ApiKey, pk=pk)
    if request.method != "POST":
        return render(request, "api/key_revoke.html", {"key": key})
    if key_revoke(key_id=key.pk, by=request.user):
        messages.success(request, f"Revoked {key.name}: calls with it now get 401.")
    else:
        messages.info(request, f"{key.name} was revoked already.")
    return redirect("apikeys:index")


@admin_required
def audit(request: HtmxHttpRequest) -> HttpResponse:
    """Every write made through the API or MCP, latest first; filtered by key and tool, paged."""
    form = AuditFilterForm(request.GET)
    # A bad filter shows its error and no entries rather than an unfiltered log that looks filtered.
    entries = selectors.audit_list(filters=form.filters()) if form.is_valid() else AuditEntry.objects.none()
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(parse_page(request.GET.get("page")))
    template = "api/audit.html"
    if request.htmx:
        template += "#audit"
    return render(request, template, {"filters": form, "page": page})
