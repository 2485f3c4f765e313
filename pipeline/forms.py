"""The deal form, shared by the board's pages and the conversation pane."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from pipeline import selectors
from pipeline.models import Stage
from pipeline.services import PipelineError, value_parse


class DealForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True)
    value = forms.CharField(required=False, max_length=5_000, help_text="e.g. 1,500.50")
    currency = forms.CharField(max_length=3, initial="USD")
    owner = forms.ModelChoiceField(queryset=selectors.owners(), required=False, empty_label="No owner")
    expected_close = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stage = forms.ModelChoiceField(queryset=Stage.objects.all(), required=False, empty_label=None)

    def __init__(self, *args: Any, with_stage: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = selectors.owners()  # evaluated per form: users come and go
        if not with_stage:
            del self.fields["stage"]

    def clean_value(self) -> Decimal:
        try:
            return value_parse(self.cleaned_data["value"])
        except PipelineError as problem:
            raise forms.ValidationError(str(problem)) from None
