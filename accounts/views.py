"""The admin console: the fleet, one account's page and its actions, importing sessions.

The login wizard lives in accounts.wizard; every view here is for admins only.
"""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from accounts import commands, imports, selectors, services
from accounts.forms import BulkForm, FleetFilterForm, ImportForm, OperatorsForm, ProxyForm
from accounts.models import Account
from accounts.pending import pending_pop, pending_result, pending_set, pending_task
from crm import live
from crm.parsing import parse_page
from crm.permissions import admin_required

S = Account.Status


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Statuses in which a host holds a logged-in client that auth.logOut can end.
LOGGED_IN = (S.ACTIVE, S.COOLDOWN, S.SPAM_LIMITED)


def _fragment(request: HtmxHttpRequest, template: str, partial: str) -> str:
    return f"{template}#{partial}" if request.htmx else template


# --- the fleet -------------------------------------------------------------------------------------------


def _filters(request: HtmxHttpRequest) -> tuple[FleetFilterForm, selectors.FleetFilters]:
    form = FleetFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    return form, selectors.FleetFilters(
        q=data.get("q", ""),
        status=data.get("status", ""),
        host=data.get("host", ""),
        attention=bool(data.get("attention")),
    )


def _fleet(request: HtmxHttpRequest, *, bulk: BulkForm | None = None) -> HttpResponse:
    form, filters = _filters(request)
    page, rows = selectors.fleet_page(filters=filters, page=parse_page(request.GET.get("page")))
    context = {
        "filters": form,
        "page": page,
        "rows": rows,
        "hosts": selectors.fleet_hosts(),
        "alerts": selectors.alerts(),
        "bulk": bulk or BulkForm(),
        "operators": selectors.operator_choices(),
    }
    # A live refresh (crm.live) re-fetches only the table, leaving the bulk form as the admin left it.
    partial = "rows" if request.htmx.target == "fleet-rows" else "fleet"
    return render(request, _fragment(request, "accounts/fleet.html", partial), context)


@admin_required
def index(request: HtmxHttpRequest) -> HttpResponse:
    """Every account with its status, host, cooldown, budget use and last activity; filtered, paged."""
    return _fleet(request)


@admin_required
@require_POST
def bulk(request: HtmxHttpRequest) -> HttpResponse:
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _fleet(request, bulk=form)
    action, accounts = form.cleaned_data["action"], list(form.cleaned_data["ids"])
    ids = [a.pk for a in accounts]
    if action in ("grant", "revoke"):
        operator = form.cleaned_data["operator"]
        services.account_operator_grant(
            account_ids=ids, operator=operator, grant=action == "grant", by=request.user
        )
        done = len(ids)
    else:
        done = sum(
            _bulk_one(request, action=action, account=a, proxy=form.cleaned_data["proxy"]) for a in accounts
        )
    label = dict(BulkForm.ACTIONS)[action]
    messages.success(request, f"{label}: {done} of {len(ids)} account{'s' if len(ids) != 1 else ''}")
    if not request.htmx:
        return redirect(f"{reverse('accounts:index')}?{request.GET.urlencode()}")
    return _fleet(request)


def _bulk_one(request: HtmxHttpRequest, *, action: str, account: Account, proxy: str) -> bool:
    try:
        if action == "pause":
            services.account_pause(account_id=account.pk, by=request.user)
        elif action == "resume":
            services.account_resume(account_id=account.pk, by=request.user)
        elif action == "disable":
            if account.status == S.DISABLED:
                return False
            services.account_disable(account_id=account.pk, by=request.user)
        elif action == "proxy":
            services.account_proxy_set(account_id=account.pk, proxy=proxy, by=request.user)
    except services.InvalidTransition:
        return False
    return True


@require_GET
async def fleet_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Pushed updates for the fleet page: a ``fleet`` event (data: the account id) whenever an account's
    status or cooldown changes. Admins only, like the page."""
    user = await request.auser()
    if not getattr(user, "is_admin", False) or user.pk is None:
        raise PermissionDenied
    closing = [live.user_channel(user.pk)]
    return live.stream_response(request, channels=[live.fleet_channel()], patterns=[], closing=closing)


@admin_required
def alerts(request: HtmxHttpRequest) -> HttpResponse:
    """The alert banner alone: console pages poll it, so a newly banned account shows within seconds."""
    return render(request, "accounts/_alerts.html", {"alerts": selectors.alerts()})


# --- one account -----------------------------------------------------------------------------------------


def _account_page(request: HtmxHttpRequest, account: Account, **extra: object) -> HttpResponse:
    account.refresh_from_db()
    task = pending_task(request, account_id=account.pk)
    context = {
        "account": account,
        "row": selectors.fleet_row(account=account),
        "events": selectors.account_events(account=account),
        "errors": selectors.account_errors(account=account),
        "service_notifications": selectors.service_notifications(account=account),
        "proxy": account.proxy_shown,
        "warmup": selectors.warmup_stage(account=account),
        "alerts": selectors.alerts(),
        "operators_form": OperatorsForm(initial={"operators": account.operators.all()}),
        "proxy_form": ProxyForm(),
        "logging_out": task is not None and task["kind"] == "log_out",
        "validating": account.status == S.ACTIVE and account.telegram_id is None,
        "can_log_out": account.status in LOGGED_IN and account.telegram_id is not None,
        "can_relogin": account.status in (S.REAUTH_REQUIRED, S.DISABLED),
        **extra,
    }
    return render(request, _fragment(request, "accounts/detail.html", "account"), context)


@admin_required
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Profile, status, history, errors, budgets, proxy, fingerprint, warm-up and operator grants."""
    return _account_page(request, get_object_or_404(Account, pk=pk))


@admin_required
@require_POST
def action(request: HtmxHttpRequest, pk: int, name: str) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    try:
        if name == "pause":
            services.account_pause(account_id=pk, by=request.user)
        elif name == "resume":
            services.account_resume(account_id=pk, by=request.user)
        elif name == "disable":
            services.account_disable(account_id=pk, by=request.user)
        else:
            return HttpResponse(status=404)
    except services.InvalidTransition as error:
        return _account_page(request, account, action_error=str(error))
    return _after(request, account)


def _after(request: HtmxHttpRequest, account: Account, **extra: object) -> HttpResponse:
    if request.htmx:
        return _account_page(request, account, **extra)
    return redirect("accounts:detail", pk=account.pk)


@admin_required
@require_POST
def proxy(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = ProxyForm(request.POST)
    if not form.is_valid():
        return _account_page(request, account, proxy_form=form)
    services.account_proxy_set(account_id=pk, proxy=form.cleaned_data["proxy"], by=request.user)
    return _after(request, account)


@admin_required
@require_POST
def operators(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = OperatorsForm(request.POST)
    if not form.is_valid():
        return _account_page(request, account, operators_form=form)
    services.account_operators_set(account=account, operators=form.cleaned_data["operators"], by=request.user)
    return _after(request, account, saved="operators")


@admin_required
@require_POST
def read_on_telegram(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    on = request.POST.get("on")
    if on not in ("0", "1"):
        return _account_page(request, account, action_error="Choose to mark conversations read or not")
    services.account_read_on_telegram_set(account_id=pk, on=on == "1")
    return _after(request, account, saved="read_on_telegram")


@admin_required
@require_POST
def log_out(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Terminate the Telegram session (auth.logOut on the account's host), then poll for the result."""
    account = get_object_or_404(Account, pk=pk)
    if account.status not in LOGGED_IN:
        return _account_page(request, account, action_error="The account is not logged in")
    task_id = commands.log_out.queue(account)
    pending_set(request, account_id=pk, task_id=task_id, kind="log_out")
    return _after(request, account)


@admin_required
def log_out_poll(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    task = pending_task(request, account_id=pk)
    if task is None or task["kind"] != "log_out":
        return _account_page(request, account)
    done, result = pending_result(task)
    if not done:
        return _account_page(request, account, waited=task["waited"])
    pending_pop(request, account_id=pk)
    if result.get("ok"):
        services.account_logged_out(account_id=pk, by=request.user)
        return _account_page(
            request, account, notice="Session terminated. Re-login to use the account again."
        )
    return _account_page(request, account, action_error=result.get("error") or "Logging out failed")


@admin_required
def delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete the account and erase its sealed session."""
    account = get_object_or_404(Account, pk=pk)
    if request.method != "POST":
        return render(request, "accounts/delete.html", {"account": account})
    name = account.display_name
    try:
        services.account_delete(account_id=pk, by=request.user)
    except services.StillConnected as busy:
        messages.warning(request, str(busy))
        if request.htmx:
            return HttpResponseClientRedirect(reverse("accounts:detail", args=[pk]))
        return redirect("accounts:detail", pk=pk)
    messages.success(request, f"Deleted {name}; its session is erased.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("accounts:index"))
    return redirect("accounts:index")


# --- importing a session ---------------------------------------------------------------------------------


@admin_required
@sensitive_post_parameters("string_session")
def import_session(request: HtmxHttpRequest) -> HttpResponse:
    """Paste a StringSession or upload a Telethon .session file; a host validates it by connecting."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            exported = _exported(form)
            account = imports.account_import(
                state=exported.state,
                telegram_id=exported.telegram_id,
                api_app=form.cleaned_data["api_app"],
                phone=form.cleaned_data["phone"],
                proxy=form.cleaned_data["proxy"],
                by=request.user,
            )
        except imports.ImportError_ as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Imported. A session host is validating the session now.")
            if request.htmx:
                return HttpResponseClientRedirect(reverse("accounts:detail", args=[account.pk]))
            return redirect("accounts:detail", pk=account.pk)
    return render(request, _fragment(request, "accounts/import.html", "form"), {"form": form})


def _exported(form: ImportForm) -> imports.Exported:
    text = form.cleaned_data["string_session"].strip()
    if text:
        return imports.session_from_string(text)
    upload = form.cleaned_data["session_file"]
    # Telethon's .session is SQLite, which reads from a path: copy the upload to a private temp file.
    with tempfile.NamedTemporaryFile(suffix=".session") as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        return imports.session_from_file(copy.name)
