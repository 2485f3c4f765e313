"""Users and roles, kept by admins inside Switchboard: add a user with a role and a first password, change
a role, deactivate or reactivate, set a new password. Passwords are never shown, only set. The last active
admin can be neither demoted nor deactivated, so nobody is ever locked out of the settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from crm.models import User
from crm.parsing import text_problem
from crm.permissions import admin_required

LAST_ADMIN = "Switchboard needs at least one active admin: make another user an admin first"


class NewUserForm(forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "role"]

    def clean_first_name(self) -> str:
        return _plain(self.cleaned_data["first_name"])

    def clean_last_name(self) -> str:
        return _plain(self.cleaned_data["last_name"])

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, self.instance)
        return password

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        user.save()
        return user


class PasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, self.user)
        return password


def _plain(value: str) -> str:
    if problem := text_problem(value):
        raise forms.ValidationError(problem)
    return value.strip()


def _page(request: HttpRequest, **extra: Any) -> HttpResponse:
    context = {
        "users": User.objects.order_by("-is_active", "username"),
        "roles": User.Role.choices,
        "new": extra.pop("new", None) or NewUserForm(),
        **extra,
    }
    return render(request, "crm/users.html", context)


def _admins_left_without(user: User) -> int:
    return User.objects.filter(role=User.Role.ADMIN, is_active=True).exclude(pk=user.pk).count()


@admin_required
@sensitive_post_parameters("password")
def index(request: HttpRequest) -> HttpResponse:
    """Every user with role and state; add one."""
    if request.method == "POST":
        form = NewUserForm(request.POST)
        if not form.is_valid():
            return _page(request, new=form)
        user = form.save()
        return _page(request, notice=f"Added {user.username}; give them their password yourself.")
    return _page(request)


@admin_required
@require_POST
def role(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    wanted = request.POST.get("role")
    if wanted not in User.Role.values:
        return _page(request, error="Choose admin or operator")
    if user.role == User.Role.ADMIN and wanted != User.Role.ADMIN and not _admins_left_without(user):
        return _page(request, error=LAST_ADMIN)
    user.role = wanted
    user.save()
    return redirect("users:index")


@admin_required
@require_POST
def active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (signed out at their next request, nothing deleted) or reactivate a user."""
    user = get_object_or_404(User, pk=pk)
    on = request.POST.get("on")
    if on not in ("0", "1"):
        return _page(request, error="Choose to activate or deactivate")
    if on == "0" and user.role == User.Role.ADMIN and not _admins_left_without(user):
        return _page(request, error=LAST_ADMIN)
    user.is_active = on == "1"
    user.save()
    return redirect("users:index")


@admin_required
@sensitive_post_parameters("password")
def password(request: HttpRequest, pk: int) -> HttpResponse:
    """A new password for a user (one who forgot theirs); an admin setting their own stays signed in."""
    user = get_object_or_404(User, pk=pk)
    form = PasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user.set_password(form.cleaned_data["password"])
        user.save()
        if user.pk == request.user.pk:
            update_session_auth_hash(request, user)
        return _page(request, notice=f"New password set for {user.username}.")
    return render(request, "crm/user_password.html", {"target": user, "form": form})
