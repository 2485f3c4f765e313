"""The console form of an agent hook. Numbers are bounded here and by the table's check constraints."""

from __future__ import annotations

from typing import Any

from django import forms

from agents import hook as hook_http
from agents.models import MAX_CONTEXT, MAX_PER_HOUR, MAX_PER_MINUTE, MAX_TIMEOUT, AgentHook
from agents.services import HookSettings
from crm.parsing import PlainIntegerField


def _bounded(label: str, low: int, high: int, help_text: str) -> PlainIntegerField:
    return PlainIntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        error_messages={
            "required": f"{label}: give a number from {low} to {high}",
            "invalid": f"{label}: give a whole number from {low} to {high}",
            "min_value": f"{label}: at least {low}",
            "max_value": f"{label}: at most {high}",
        },
    )


class HookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="https:// only; it must resolve to public addresses",
        error_messages={"required": "Give the hook's URL", "max_length": "The URL is too long"},
        widget=forms.URLInput(
            attrs={"placeholder": "https://agent.example.com/telegram", "autocomplete": "off"}
        ),
    )
    enabled = forms.BooleanField(label="Enabled", required=False)
    timeout = _bounded(
        "Timeout (seconds)", 1, MAX_TIMEOUT, "A hook that answers later is logged as timed out"
    )
    context_size = _bounded("Context (messages)", 0, MAX_CONTEXT, "Recent messages sent with each event")
    per_peer_per_minute = _bounded(
        "Replies per sender a minute", 1, MAX_PER_MINUTE, "Automated replies to one sender"
    )
    per_peer_per_hour = _bounded(
        "Replies per sender an hour", 1, MAX_PER_HOUR, "Automated replies to one sender"
    )

    @classmethod
    def for_hook(cls, hook: AgentHook | None, data: Any = None) -> HookForm:
        initial: dict[str, Any] = {"timeout": 10, "context_size": 20, "per_peer_per_minute": 3}
        initial["per_peer_per_hour"] = 30
        if hook is not None:
            initial = {name: getattr(hook, name) for name in cls.base_fields}
        return cls(data, initial=initial)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            hook_http.check_url(url)
        except ValueError as refused:
            raise forms.ValidationError(str(refused), code="refused") from None
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        minute, hour = data.get("per_peer_per_minute"), data.get("per_peer_per_hour")
        if minute is not None and hour is not None and hour < minute:
            self.add_error("per_peer_per_hour", "Allow at least as many replies an hour as a minute")
        return data

    def values(self) -> HookSettings:
        return HookSettings(**{name: self.cleaned_data[name] for name in self.base_fields})
