"""The webhooks pages of the console (admins only), under /settings/webhooks/: endpoints, their delivery
log with replay, "send test event", and secrets (rotate, enable, disable).

A secret is in one answer only: the one to the POST that made it (create or rotate). It is kept sealed,
never put in the session or a flash message, and that answer is marked no-store.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from crm.parsing import parse_page
from crm.permissions import admin_required
from webhooks import selectors, services
from webhooks.events import EVENT_TYPES
from webhooks.forms import EndpointForm
from webhooks.models import Delivery, Endpoint

ENDPOINTS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 25


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@admin_required
def index(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(selectors.endpoint_list(), ENDPOINTS_PER_PAGE).get_page(
        parse_page(request.GET.get("page"))
    )
    return render(request, "webhooks/index.html", {"page": page})


@sensitive_variables("secret")
@admin_required
@never_cache
def endpoint_new(request: HtmxHttpRequest) -> HttpResponse:
    """The form; once valid, the endpoint is made and its secret shown in this answer, never again."""
    form = EndpointForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(**form.cleaned_data, by=request.user)
        except services.EndpointError as problem:
            form.add_error("url", str(problem))
        else:
            context = {"endpoint": endpoint, "secret": secret, "made": "created"}
    template = "webhooks/endpoint_new.html"
    if request.htmx:
        template += "#endpoint-form"
    return render(request, template, context)


@admin_required
def endpoint_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The endpoint, its settings form and its delivery log (attempts, replay)."""
    endpoint = get_object_or_404(Endpoint.objects.select_related("account"), pk=pk)
    page = Paginator(selectors.delivery_list(endpoint=endpoint), DELIVERIES_PER_PAGE).get_page(
        parse_page(request.GET.get("page"))
    )
    template = "webhooks/endpoint.html"
    if request.htmx:
        template += "#deliveries"
    context = {"endpoint": endpoint, "page": page, "event_types": EVENT_TYPES, "now": timezone.now()}
    return render(request, template, context)


@admin_required
def endpoint_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "account": endpoint.account_id,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.cleaned_data, by=request.user)
        except services.EndpointError as problem:
            form.add_error("url", str(problem))
        else:
            messages.success(request, "Saved.")
            return redirect("webhooks:detail", pk=endpoint.pk)
    return render(request, "webhooks/endpoint_edit.html", {"endpoint": endpoint, "form": form})


@sensitive_variables("secret")
@admin_required
@never_cache
def endpoint_rotate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Confirm, then rotate: the new secret is shown once; the old one keeps signing for a day."""
    endpoint = get_object_or_404(Endpoint, pk=pk)
    if request.method != "POST":
        return render(request, "webhooks/endpoint_rotate.html", {"endpoint": endpoint})
    endpoint, secret = services.endpoint_rotate(endpoint_id=endpoint.pk, by=request.user)
    return render(
        request, "webhooks/endpoint_new.html", {"endpoint": endpoint, "secret": secret, "made": "rotated"}
    )


@require_POST
@admin_required
def endpoint_toggle(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    if endpoint.enabled:
        services.endpoint_disable(endpoint_id=endpoint.pk, reason="Disabled by an admin", by=request.user)
        messages.success(request, "Disabled: nothing is sent to it until it is enabled again.")
    else:
        services.endpoint_enable(endpoint_id=endpoint.pk, by=request.user)
        messages.success(request, "Enabled. Deliveries it missed while disabled can be replayed below.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@require_POST
@admin_required
def endpoint_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    try:
        delivery = services.test_event_send(endpoint=endpoint, by=request.user)
    except services.EndpointError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Test event {delivery.event_id} queued; its delivery shows below.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@admin_required
def endpoint_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    if request.method != "POST":
        return render(request, "webhooks/endpoint_delete.html", {"endpoint": endpoint})
    services.endpoint_delete(endpoint_id=endpoint.pk, by=request.user)
    messages.success(request, "Deleted the endpoint and its delivery log.")
    return redirect("webhooks:index")


@require_POST
@admin_required
def delivery_replay(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=pk)
    try:
        services.delivery_replay(delivery_id=delivery.pk, by=request.user)
    except services.EndpointError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Replaying {delivery.event_id}: same webhook-id, a fresh retry schedule.")
    return redirect("webhooks:detail", pk=delivery.endpoint_id)
