"""Forms of the API pages: a new key, and the audit log's filters. Writes happen in api.keys."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Account
from api import selectors
from api.models import SCOPES, ApiKey


class AccountChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.display_name
        return (
            f"{name} · {obj.phone} · #{obj.pk}" if obj.phone and obj.phone != name else f"{name} · #{obj.pk}"
        )


class KeyForm(forms.Form):
    """Name, scopes and accounts of a new key; the token itself is made by api.keys.key_create."""

    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="Who or what uses it; the audit log names every write by it",
        error_messages={"required": "Give the key a name, so the audit log can say who did what"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one scope",
            "invalid_choice": "%(value)s is not a scope",
        },
    )
    accounts = AccountChoice(
        queryset=Account.objects.order_by("pk"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        error_messages={
            "required": "Choose the accounts this key may act for",
            "invalid_choice": "There is no account %(value)s",
            "invalid_pk_value": "“%(pk)s” is not an account id",
        },
    )


class AuditFilterForm(forms.Form):
    """Narrow the audit log to one key and one tool. Choices compare as strings, so "٣" or " 3" never
    stand for key 3."""

    key = forms.ChoiceField(required=False, error_messages={"invalid_choice": "There is no such key"})
    tool = forms.ChoiceField(required=False, error_messages={"invalid_choice": "There is no such tool"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = ApiKey.objects.order_by("name", "pk").values_list("pk", "name", "prefix")
        key, tool = self.fields["key"], self.fields["tool"]
        assert isinstance(key, forms.ChoiceField) and isinstance(tool, forms.ChoiceField)
        key.choices = [("", "Any key")] + [(str(pk), f"{name} (sb_{prefix}_…)") for pk, name, prefix in keys]
        tool.choices = [("", "Any tool")] + [(t, t) for t in selectors.audited_tools()]

    def filters(self) -> selectors.AuditFilters:
        """The valid filters; call after is_valid()."""
        key = self.cleaned_data.get("key")
        return selectors.AuditFilters(
            key_id=int(key) if key else None, tool=self.cleaned_data.get("tool", "")
        )
