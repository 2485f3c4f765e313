"""Forms of the automation console. They validate input; the writes happen in automation.services."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from automation.models import AutomationSettings
from crm.parsing import MAX_ID, PlainIntegerField

MAX_TEXT = 4096  # Telegram's longest message
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")  # Telegram: 5 to 32 characters, "@" not counted
_ID = re.compile(r"-?[0-9]{1,19}")
_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/", re.IGNORECASE)


def _username(value: str) -> str | None:
    name = value.removeprefix("@")
    return name if _USERNAME.fullmatch(name) else None


def _user_id(value: str) -> int | None:
    number = int(value) if _ID.fullmatch(value) else 0
    return number if 0 < abs(number) <= MAX_ID else None


class SettingsForm(forms.ModelForm):
    pairing_text = forms.CharField(
        max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}), label="Pairing reply"
    )
    admin_chat = forms.CharField(
        max_length=64,
        required=False,
        label="Admin chat",
        help_text="@username, t.me link or numeric id (negative for a group) the account can write to.",
    )
    pending_cap = PlainIntegerField(min_value=1, max_value=1000, label="Pending requests at most")
    expiry_minutes = PlainIntegerField(
        min_value=1, max_value=7 * 24 * 60, label="Requests expire after (minutes)"
    )

    class Meta:
        model = AutomationSettings
        fields = ["dm_policy", "group_policy", "pairing_text", "admin_chat", "pending_cap", "expiry_minutes"]
        labels = {"dm_policy": "Direct messages", "group_policy": "Groups"}

    def clean_admin_chat(self) -> str:
        value = _LINK.sub("", self.cleaned_data["admin_chat"].strip())
        if not value:
            return ""
        if (number := _user_id(value)) is not None:
            return str(number)
        if (name := _username(value)) is not None:
            return f"@{name}"
        raise forms.ValidationError(
            "Give the admin chat as @username, a t.me link or a numeric id (negative for a group)"
        )


class AllowForm(forms.Form):
    entry = forms.CharField(max_length=64, label="User id or @username")

    def clean_entry(self) -> dict[str, Any]:
        value = self.cleaned_data["entry"].strip()
        if (name := _username(value)) is not None:
            return {"user_id": None, "username": name}
        number = _user_id(value)
        if number is not None and number > 0:
            return {"user_id": number, "username": ""}
        raise forms.ValidationError(
            "Give a Telegram user id (digits) or a @username (5 to 32 letters, digits or _)"
        )
