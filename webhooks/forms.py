"""The endpoint form of the webhooks console. Writes (and the URL's checks) happen in webhooks.services."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Account
from webhooks.events import EVENT_TYPES
from webhooks.services import MAX_URL


class AccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} · #{obj.pk}"


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        # Longer input reaches the service, which says how long a URL may be instead of cutting it.
        max_length=MAX_URL * 4,
        error_messages={"required": "Enter the endpoint's URL"},
        widget=forms.URLInput(
            attrs={"autocomplete": "off", "placeholder": "https://example.com/hooks/switchboard"}
        ),
    )
    description = forms.CharField(label="Description", max_length=255, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=list(EVENT_TYPES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: every event",
        error_messages={"invalid_choice": "%(value)s is not an event type"},
    )
    account = AccountChoice(
        label="Only about this account",
        queryset=Account.objects.order_by("id"),
        required=False,
        empty_label="Every account",
        error_messages={"invalid_choice": "Choose one of the accounts"},
    )
