"""Forms of the admin console. They validate input; the writes happen in accounts.services."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts import imports
from accounts.models import Account, ApiApp
from accounts.proxies import parse_proxy
from accounts.selectors import operator_choices
from accounts.services import normalize_phone
from crm.parsing import PlainIntegerField


def _proxy(value: str) -> str:
    value = (value or "").strip()
    try:
        parse_proxy(value)
    except ValueError:
        # A fixed message: the error must not quote the URL back, password and all.
        raise forms.ValidationError("proxy must look like socks5://user:pass@host:1080") from None
    return value


class SecretTextarea(forms.Textarea):
    """A textarea that, like a password input, never renders its value back into the page."""

    def format_value(self, value: Any) -> None:
        return None


class SecretTextInput(forms.TextInput):
    """A text input that never renders its value back: proxy URLs carry the proxy's password."""

    def format_value(self, value: Any) -> None:
        return None


def _proxy_field(label: str) -> forms.CharField:
    return forms.CharField(
        max_length=255, required=False, label=label, widget=SecretTextInput(attrs={"autocomplete": "off"})
    )


class ApiAppForm(forms.Form):
    """Step 1: pick a registered API application, or register a new one."""

    api_app = forms.ModelChoiceField(
        queryset=ApiApp.objects.order_by("name"), required=False, empty_label="Register a new one…"
    )
    name = forms.CharField(max_length=100, required=False, label="Name (for you)")
    api_id = PlainIntegerField(min_value=1, max_value=2**31 - 1, required=False, label="api_id")
    api_hash = forms.CharField(
        max_length=32, required=False, label="api_hash", widget=forms.PasswordInput(render_value=False)
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("api_app"):
            return data
        missing = [f for f in ("name", "api_id", "api_hash") if not data.get(f)]
        for field in missing:
            self.add_error(field, "Needed to register a new API application")
        if data.get("api_id") and ApiApp.objects.filter(api_id=data["api_id"]).exists():
            self.add_error("api_id", "This api_id is registered already; pick it above")
        return data


class PhoneForm(forms.Form):
    """Step 2: the number to log in, and how to reach Telegram from it."""

    api_app = forms.ModelChoiceField(queryset=ApiApp.objects.all(), widget=forms.HiddenInput)
    phone = forms.CharField(max_length=32, label="Phone number")
    proxy = _proxy_field("Proxy (optional)")

    def clean_phone(self) -> str:
        try:
            phone = normalize_phone(self.cleaned_data["phone"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if Account.objects.filter(phone=phone).exists():
            raise forms.ValidationError("An account with this phone number already exists")
        return phone

    def clean_proxy(self) -> str:
        return _proxy(self.cleaned_data.get("proxy", ""))


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=12, label="Login code", widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        max_length=256, label="Two-step verification password", widget=forms.PasswordInput
    )


class ImportForm(forms.Form):
    """An existing Telethon session: a StringSession pasted, or a .session file uploaded."""

    api_app = forms.ModelChoiceField(queryset=ApiApp.objects.order_by("name"), empty_label=None)
    string_session = forms.CharField(
        required=False,
        max_length=imports.SESSION_STRING_MAX_CHARS,
        label="StringSession",
        widget=SecretTextarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
    )
    session_file = forms.FileField(required=False, label="…or a Telethon .session file")
    phone = forms.CharField(max_length=32, required=False, label="Phone number (optional)")
    proxy = _proxy_field("Proxy (optional)")

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "").strip()
        if not phone:
            return ""
        try:
            phone = normalize_phone(phone)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if Account.objects.filter(phone=phone).exists():
            raise forms.ValidationError("An account with this phone number already exists")
        return phone

    def clean_proxy(self) -> str:
        return _proxy(self.cleaned_data.get("proxy", ""))

    def clean_session_file(self) -> Any:
        upload = self.cleaned_data.get("session_file")
        if upload and upload.size > imports.SESSION_FILE_MAX_BYTES:
            raise forms.ValidationError(imports.too_big_message())
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("string_session", "").strip()) == bool(data.get("session_file")):
            raise forms.ValidationError("Paste a StringSession or upload a .session file (one of them)")
        return data


class FleetFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Account.Status.choices])
    host = forms.CharField(required=False, label="Host")
    attention = forms.BooleanField(required=False, label="Needs attention")


class BulkForm(forms.Form):
    ACTIONS = [
        ("pause", "Pause outreach"),
        ("resume", "Resume"),
        ("disable", "Disable"),
        ("proxy", "Set proxy"),
        ("grant", "Grant operator"),
        ("revoke", "Revoke operator"),
    ]
    ids = forms.ModelMultipleChoiceField(
        queryset=Account.objects.all(), error_messages={"required": "Select at least one account"}
    )
    action = forms.ChoiceField(choices=ACTIONS)
    proxy = _proxy_field("Proxy")
    operator = forms.ModelChoiceField(queryset=operator_choices(), required=False)

    def clean_proxy(self) -> str:
        return _proxy(self.cleaned_data.get("proxy", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") in ("grant", "revoke") and not data.get("operator"):
            self.add_error("operator", "Choose the operator")
        return data


class ProxyForm(forms.Form):
    proxy = _proxy_field("Proxy URL (empty: direct)")

    def clean_proxy(self) -> str:
        return _proxy(self.cleaned_data.get("proxy", ""))


class OperatorsForm(forms.Form):
    operators = forms.ModelMultipleChoiceField(
        queryset=operator_choices(), required=False, widget=forms.CheckboxSelectMultiple
    )
