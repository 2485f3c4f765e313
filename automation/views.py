"""The automation console: an account's policies, allowlist and pairing requests, and the fleet's pending
pairing requests. Admins only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from accounts.models import Account
from automation import pairing, selectors, services
from automation.forms import AllowForm, SettingsForm
from automation.models import AutomationSettings, PairingRequest
from crm.permissions import admin_required


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


DECISIONS = [("approve", "Approve", ""), ("deny", "Deny", "secondary")]


def _page(request: HtmxHttpRequest, account: Account, **extra: object) -> HttpResponse:
    saved = selectors.settings_saved(account_id=account.pk)
    found = saved or AutomationSettings(account=account)  # the defaults, shown but not yet in force
    context = {
        "account": account,
        "settings": found,
        "automation_off": saved is None,
        "settings_form": SettingsForm(instance=found),
        "allow_form": AllowForm(),
        "allowlist": selectors.allowlist(account_id=account.pk),
        "pending": selectors.pairing_pending(account_id=account.pk),
        "decided": selectors.pairing_decided(account_id=account.pk),
        "decisions": DECISIONS,
        **extra,
    }
    template = "automation/account.html"
    return render(request, f"{template}#automation" if request.htmx else template, context)


def _after(request: HtmxHttpRequest, account: Account, **extra: object) -> HttpResponse:
    if request.htmx:
        return _page(request, account, **extra)
    return redirect("automation:account", pk=account.pk)


@admin_required
def account(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Policies, texts, admin chat, cap and expiry; the allowlist; pending and recent pairing requests."""
    return _page(request, get_object_or_404(Account, pk=pk))


@admin_required
@require_POST
def settings_save(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = SettingsForm(request.POST, instance=selectors.settings_for(account_id=pk))
    if not form.is_valid():
        return _page(request, account, settings_form=form)
    services.settings_update(account_id=pk, values=form.cleaned_data)
    return _after(request, account, saved=True)


@admin_required
@require_POST
def allow(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = AllowForm(request.POST)
    if not form.is_valid():
        return _page(request, account, allow_form=form)
    try:
        services.allowlist_add(account_id=pk, by=request.user, **form.cleaned_data["entry"])
    except services.AlreadyListed as error:
        form.add_error("entry", str(error))
        return _page(request, account, allow_form=form)
    return _after(request, account)


@admin_required
@require_POST
def disallow(request: HtmxHttpRequest, pk: int, entry: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    if not services.allowlist_remove(account_id=pk, entry_id=entry):
        raise Http404("No such allowlist entry")
    return _after(request, account)


@admin_required
def requests(request: HtmxHttpRequest) -> HttpResponse:
    """Every account's pending pairing requests, oldest first, and the latest decisions."""
    return _requests(request)


def _requests(request: HtmxHttpRequest, **extra: object) -> HttpResponse:
    context = {
        "pending": selectors.pairing_pending(),
        "decided": selectors.pairing_decided(),
        "decisions": DECISIONS,
        **extra,
    }
    template = "automation/requests.html"
    return render(request, f"{template}#requests" if request.htmx else template, context)


@admin_required
@require_POST
def decide(request: HtmxHttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "deny"):
        raise Http404("Approve or deny")
    found = get_object_or_404(PairingRequest.objects.select_related("account"), pk=pk)
    error = ""
    try:
        pairing.pairing_decide(request_id=pk, approve=decision == "approve", by=request.user)
    except pairing.NotPending as refused:
        error = str(refused)
    if request.POST.get("from") == "requests":
        if not request.htmx and not error:
            return redirect("automation:requests")
        return _requests(request, decide_error=error)
    if error:
        return _page(request, found.account, decide_error=error)
    return _after(request, found.account)
