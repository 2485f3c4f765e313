"""The login forms: every way in (our login page, Django admin's) goes through the same throttle."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from crm import throttle


class ThrottledLoginMixin:
    """Refuses attempts while the (username, address) pair must wait, and counts failures.

    Lives in the form's clean() because that is where the username is already normalised (NFKC, by
    Django's UsernameField) exactly as authenticate() will look it up.
    """

    request: Any
    cleaned_data: dict[str, Any]
    # Seconds the client must wait before retrying, when this attempt was refused by the throttle.
    retry_after: int = 0

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None:
            return super().clean()  # type: ignore[misc]
        address = throttle.client_address(self.request)
        self.retry_after = throttle.login_wait(username=username, address=address)
        if self.retry_after:
            raise forms.ValidationError(
                "Too many failed attempts. Try again in %(wait)s (the right password is refused too).",
                code="throttled",
                params={"wait": _seconds(self.retry_after)},
            )
        try:
            data = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            throttle.login_failed(username=username, address=address)
            raise
        throttle.login_succeeded(username=username, address=address)
        return data


def _seconds(wait: int) -> str:
    if wait < 120:
        return f"{wait} second{'s' if wait != 1 else ''}"
    return f"{-(-wait // 60)} minutes"


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
