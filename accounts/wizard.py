"""The login wizard: API app → phone → code → 2FA password (when needed) → done; and re-login.

Each step queues a command on the account's session host and the page polls for its result (htmx),
so the browser never waits on Telegram. The account's status is the wizard's state: a failed step
leaves it where it was, and the page shows why (from the step's result, recorded as an event), so a
reload loses nothing. Codes and passwords go straight to accounts.onboarding, which seals them.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from accounts import onboarding, selectors, services
from accounts.forms import ApiAppForm, CodeForm, PasswordForm, PhoneForm
from accounts.models import Account, ApiApp
from accounts.pending import Pending, pending_pop, pending_result, pending_set, pending_task
from accounts.views import HtmxHttpRequest
from crm.parsing import parse_id
from crm.permissions import admin_required

S = Account.Status
TEMPLATE = "accounts/wizard.html"
# After this long without a result, the page says no session host seems to be taking the account.
SLOW_HOST_SECONDS = 20
LOGIN_KINDS = ("send_code", "sign_in", "check_password")

STEP_OF_STATUS: dict[str, str] = {
    S.NEW: "send_code",
    S.CODE_SENT: "code",
    S.PASSWORD_NEEDED: "password",
    S.ACTIVE: "done",
    S.COOLDOWN: "done",
    S.SPAM_LIMITED: "done",
    S.BANNED: "banned",
    S.REAUTH_REQUIRED: "relogin",
    S.DISABLED: "relogin",
}


def _render(request: HtmxHttpRequest, context: dict[str, object], *, status: int = 200) -> HttpResponse:
    name = f"{TEMPLATE}#wizard" if request.htmx else TEMPLATE
    return render(request, name, context, status=status)


@admin_required
@sensitive_post_parameters("api_hash")
def start(request: HtmxHttpRequest) -> HttpResponse:
    """Steps one and two: which API application, then which phone number. Creates the account."""
    if request.method == "POST" and request.POST.get("step") == "phone":
        return _phone_step(request)
    form = ApiAppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = form.cleaned_data["api_app"]
        if app is None:
            try:
                app = services.api_app_create(
                    name=form.cleaned_data["name"],
                    api_id=form.cleaned_data["api_id"],
                    api_hash=form.cleaned_data["api_hash"].strip().lower(),
                )
            except ValueError as error:
                form.add_error("api_hash", str(error))
        if app is not None:
            return _render(
                request, {"step": "phone", "form": PhoneForm(initial={"api_app": app.pk}), "app": app}
            )
    return _render(request, {"step": "app", "form": form, "has_apps": ApiApp.objects.exists()})


def _phone_step(request: HtmxHttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST)
    if not form.is_valid():
        app_id = parse_id(request.POST.get("api_app"))
        app = ApiApp.objects.filter(pk=app_id).first() if app_id is not None else None
        return _render(request, {"step": "phone", "form": form, "app": app})
    try:
        account = services.account_create(
            phone=form.cleaned_data["phone"],
            api_app=form.cleaned_data["api_app"],
            proxy=form.cleaned_data["proxy"],
            by=request.user,
        )
    except ValueError as error:  # a concurrent wizard took the number meanwhile
        form.add_error("phone", str(error))
        return _render(request, {"step": "phone", "form": form, "app": form.cleaned_data["api_app"]})
    if not request.htmx:
        return redirect("accounts:login", pk=account.pk)
    return push_url(_step(request, account), reverse("accounts:login", args=[account.pk]))


def _login_task(request: HtmxHttpRequest, account_id: int) -> Pending | None:
    """The login step in flight for this account (a log-out started on the account page is not one)."""
    task = pending_task(request, account_id=account_id)
    return task if task is not None and task["kind"] in LOGIN_KINDS else None


def _step(request: HtmxHttpRequest, account: Account, **extra: object) -> HttpResponse:
    """The wizard at the account's current step (or waiting for the step in flight)."""
    account.refresh_from_db()
    task = _login_task(request, account.pk)
    state = selectors.login_state(account=account)
    context: dict[str, object] = {
        "account": account,
        "login": state,
        "step": "pending" if task else STEP_OF_STATUS[account.status],
        "task": task,
        "slow": task is not None and task["waited"] >= SLOW_HOST_SECONDS,
        "error": state.error,
        "form": CodeForm() if account.status == S.CODE_SENT else PasswordForm(),
        **extra,
    }
    return _render(request, context)


@admin_required
def login(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _step(request, get_object_or_404(Account, pk=pk))


@admin_required
@require_POST
def request_code(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Ask Telegram for a login code; after several today, only once the admin confirms."""
    account = get_object_or_404(Account, pk=pk)
    try:
        task_id = onboarding.login_request_code(
            account=account, confirm=request.POST.get("confirm") == "1", by=request.user
        )
    except onboarding.NeedsConfirmation as warning:
        return _step(request, account, confirm=str(warning))
    except ValueError as error:
        return _step(request, account, error=str(error))
    return _queued(request, account, task_id=task_id, kind="send_code")


@admin_required
@require_POST
@sensitive_post_parameters("code")
def submit_code(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _step(request, account, form=form, error="")
    try:
        task_id = onboarding.login_submit_code(
            account=account, code=form.cleaned_data["code"], by=request.user
        )
    except ValueError as error:
        form.add_error("code", str(error))
        return _step(request, account, form=form, error="")
    return _queued(request, account, task_id=task_id, kind="sign_in")


@admin_required
@require_POST
@sensitive_post_parameters("password")
def submit_password(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = PasswordForm(request.POST)
    if not form.is_valid():
        return _step(request, account, form=form, error="")
    task_id = onboarding.login_submit_password(
        account=account, password=form.cleaned_data["password"], by=request.user
    )
    return _queued(request, account, task_id=task_id, kind="check_password")


def _queued(request: HtmxHttpRequest, account: Account, *, task_id: str, kind: str) -> HttpResponse:
    pending_set(request, account_id=account.pk, task_id=task_id, kind=kind)
    if not request.htmx:
        return redirect("accounts:login", pk=account.pk)
    return _step(request, account)


@admin_required
def poll(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Polled while a step is in flight: the same 'waiting' fragment, or the next step once done."""
    account = get_object_or_404(Account, pk=pk)
    task = _login_task(request, pk)
    if task is None:
        return _step(request, account)
    done, result = pending_result(task)
    if not done:
        return _step(request, account)
    pending_pop(request, account_id=pk)
    if not result.get("ok"):
        # The login commands record their failure as an event too; this covers a command that crashed.
        return _step(request, account, error=result.get("error") or "The step failed")
    return _step(request, account)


@admin_required
@require_POST
def forget(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Stop waiting for a step no host has answered. The command stays queued and still runs once a host
    takes the account; the page then shows the account's step as its status says."""
    account = get_object_or_404(Account, pk=pk)
    if _login_task(request, pk) is not None:
        pending_pop(request, account_id=pk)
    if not request.htmx:
        return redirect("accounts:login", pk=pk)
    return _step(request, account)


@admin_required
@require_POST
def restart(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Re-login (reauth_required or disabled) or start over: same row, history kept, old session erased."""
    account = get_object_or_404(Account, pk=pk)
    if account.status == S.BANNED:
        return _step(request, account)  # the page says a banned number cannot log in again
    pending_pop(request, account_id=pk)
    onboarding.login_restart(account=account, by=request.user)
    services.hosts_wake()
    if not request.htmx:
        return redirect("accounts:login", pk=pk)
    return push_url(_step(request, account), reverse("accounts:login", args=[pk]))
