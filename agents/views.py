"""The agent hook page of the console (admins only): settings, secret rotation, test event, delivery log.

A secret is in one answer only: the one to the POST that made it (creation or rotation). It is sealed at
rest, never put in the session or a flash message, and that answer is marked no-store.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from accounts.models import Account
from agents import selectors, services
from agents.forms import HookForm
from crm.parsing import parse_page
from crm.permissions import admin_required

CALLS_PER_PAGE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _page(request: HttpRequest, account: Account, form: HookForm, **extra: Any) -> HttpResponse:
    hook = selectors.hook_of(account=account)
    calls = None
    if hook is not None:
        calls = Paginator(selectors.call_log(hook=hook), CALLS_PER_PAGE).get_page(
            parse_page(request.GET.get("page"))
        )
    context = {"account": account, "hook": hook, "form": form, "calls": calls, **extra}
    return render(request, "agents/hook.html", context)


@sensitive_variables("secret")
@admin_required
@never_cache
def hook(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """The settings form; saving the first time creates the hook and shows its secret once."""
    account = get_object_or_404(Account, pk=account_id)
    existing = selectors.hook_of(account=account)
    form = HookForm.for_hook(existing, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            _, secret = services.hook_save(account=account, values=form.values(), by=request.user)
        except ValueError as refused:  # the URL's host changed its addresses since the form checked it
            form.add_error("url", str(refused))
        else:
            if secret is None:
                return redirect("agents:hook", account_id=account.pk)
            return _page(
                request, account, HookForm.for_hook(selectors.hook_of(account=account)), secret=secret
            )
    return _page(request, account, form)


@sensitive_variables("secret")
@admin_required
@never_cache
@require_POST
def rotate(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """A new signing secret, shown in this answer only; the old one stops signing at once."""
    account = get_object_or_404(Account, pk=account_id)
    existing = get_object_or_404(selectors.hook_of_queryset(), account=account)
    secret = services.hook_rotate_secret(hook=existing, by=request.user)
    return _page(request, account, HookForm.for_hook(existing), secret=secret, rotated=True)


@admin_required
@require_POST
def test_event(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """Send a test event now (the page waits at most the hook's timeout) and show what came back."""
    account = get_object_or_404(Account, pk=account_id)
    existing = get_object_or_404(selectors.hook_of_queryset(), account=account)
    call = services.hook_test(hook=existing, by=request.user)
    if not request.htmx:
        return redirect("agents:hook", account_id=account.pk)
    calls = Paginator(selectors.call_log(hook=existing), CALLS_PER_PAGE).get_page(1)
    context = {"account": account, "hook": existing, "calls": calls, "tested": call}
    return render(request, "agents/hook.html#log", context)


@admin_required
def log(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """The delivery log alone (paging, refresh)."""
    account = get_object_or_404(Account, pk=account_id)
    existing = get_object_or_404(selectors.hook_of_queryset(), account=account)
    calls = Paginator(selectors.call_log(hook=existing), CALLS_PER_PAGE).get_page(
        parse_page(request.GET.get("page"))
    )
    template = "agents/hook.html#log" if request.htmx else "agents/hook.html"
    context = {"account": account, "hook": existing, "calls": calls, "form": HookForm.for_hook(existing)}
    return render(request, template, context)
