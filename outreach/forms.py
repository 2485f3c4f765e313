from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import Q

from accounts.models import Account
from crm.parsing import MaxUploadSize, PlainFloatField, PlainIntegerField
from outreach import imports, spintax
from outreach.models import Audience, Campaign
from outreach.services import MAX_DAILY_CAP, MAX_GAP

SENDABLE = (Account.Status.ACTIVE, Account.Status.COOLDOWN, Account.Status.SPAM_LIMITED)
MAX_MEDIA_BYTES = 20 * 1024 * 1024
# Upper bounds keep numbers in range of their columns and of timedelta (days=1e308 overflows).
MAX_FOLLOW_UP_DAYS = 365
MAX_DAILY = 10_000


def _spintax(value: str) -> str:
    error = spintax.validate(value)
    if error is not None:
        raise forms.ValidationError(str(error))
    return value


class CampaignForm(forms.ModelForm):
    senders = forms.ModelMultipleChoiceField(
        queryset=Account.objects.filter(status__in=SENDABLE), widget=forms.CheckboxSelectMultiple
    )
    follow_up_1_days = PlainFloatField(
        required=False, min_value=0, max_value=MAX_FOLLOW_UP_DAYS, label="Follow-up 1 after (days)"
    )
    follow_up_1 = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Follow-up 1"
    )
    follow_up_2_days = PlainFloatField(
        required=False, min_value=0, max_value=MAX_FOLLOW_UP_DAYS, label="Follow-up 2 after (days)"
    )
    follow_up_2 = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Follow-up 2"
    )
    timezone = forms.ChoiceField(choices=[(z, z) for z in sorted(available_timezones())], initial="UTC")

    class Meta:
        model = Campaign
        fields = [
            "name",
            "template",
            "media",
            "audience",
            "senders",
            "daily_cap",
            "gap_min",
            "gap_max",
            "window_start",
            "window_end",
            "timezone",
            "stop_on_reply",
            "allow_recontact",
        ]
        field_classes = {
            "daily_cap": PlainIntegerField,
            "gap_min": PlainIntegerField,
            "gap_max": PlainIntegerField,
        }
        labels = {
            "daily_cap": "Messages per sender per day",
            "gap_min": "Shortest gap (s)",
            "gap_max": "Longest gap (s)",
            "window_start": "Send from",
            "window_end": "Send until (same as from: all day)",
        }
        widgets = {
            "template": forms.Textarea(attrs={"rows": 4}),
            "window_start": forms.TimeInput(attrs={"type": "time"}),
            "window_end": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "media" in self.fields:
            self.fields["media"].validators.append(MaxUploadSize(MAX_MEDIA_BYTES))
        for name, most in (("daily_cap", MAX_DAILY_CAP), ("gap_min", MAX_GAP), ("gap_max", MAX_GAP)):
            field = self.fields[name]
            assert isinstance(field, forms.IntegerField)
            field.max_value = most
            field.validators.append(MaxValueValidator(most))
            field.widget.attrs["max"] = most

    def clean_template(self) -> str:
        return _spintax(self.cleaned_data["template"])

    def clean_follow_up_1(self) -> str:
        return _spintax(self.cleaned_data["follow_up_1"])

    def clean_follow_up_2(self) -> str:
        return _spintax(self.cleaned_data["follow_up_2"])

    def clean(self) -> dict:
        data = super().clean() or {}
        if (data.get("gap_max") or 0) < (data.get("gap_min") or 0):
            self.add_error("gap_max", "The longest gap must not be shorter than the shortest")
        return data

    def follow_ups(self) -> list[tuple[timedelta, str]]:
        steps = []
        for n in (1, 2):
            text, days = self.cleaned_data.get(f"follow_up_{n}"), self.cleaned_data.get(f"follow_up_{n}_days")
            if text and days is not None:
                steps.append((timedelta(days=days), text))
        return steps


class CampaignEditForm(CampaignForm):
    """The campaign's settings as they may change now (``outreach.services.campaign_update`` decides): the
    audience only on a draft; a step that has gone to anyone is shown, not editable."""

    class Meta(CampaignForm.Meta):
        fields = [name for name in CampaignForm.Meta.fields if name != "media"]

    def __init__(self, *args: Any, sent_steps: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = self.instance
        senders = self.fields["senders"]
        assert isinstance(senders, forms.ModelMultipleChoiceField)
        senders.queryset = Account.objects.filter(
            Q(status__in=SENDABLE) | Q(pk__in=campaign.senders.values("pk"))
        )
        for follow_up in campaign.follow_ups.all():
            if follow_up.position in (1, 2):
                self.initial[f"follow_up_{follow_up.position}"] = follow_up.template
                self.initial[f"follow_up_{follow_up.position}_days"] = follow_up.after / timedelta(days=1)
        if campaign.state != Campaign.State.DRAFT:
            self.fields["audience"].disabled = True
        if sent_steps.get(0):
            self.fields["template"].disabled = True
        for n in (1, 2):
            if sent_steps.get(n):
                self.fields[f"follow_up_{n}"].disabled = True
                self.fields[f"follow_up_{n}_days"].disabled = True


class AudienceForm(forms.ModelForm):
    class Meta:
        model = Audience
        fields = ["name", "require_username", "exclude_contacted", "exclude_opted_out"]


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file (columns: username, phone, user_id)", validators=[MaxUploadSize(imports.MAX_BYTES)]
    )


class ScrapeForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.filter(status__in=SENDABLE[:2]))
    target = forms.CharField(max_length=255, label="Group (@username or link)")
    audience = forms.ModelChoiceField(
        queryset=Audience.objects.all(), required=False, empty_label="A new audience for this group"
    )


class WarmupForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.filter(status__in=SENDABLE[:2], warmup_plan__isnull=True)
    )
    days = PlainIntegerField(min_value=1, max_value=90, initial=14)
    start_new_dm = PlainIntegerField(
        min_value=0, max_value=MAX_DAILY, initial=2, label="New DMs a day at the start"
    )
    target_new_dm = PlainIntegerField(
        min_value=0, max_value=MAX_DAILY, initial=20, label="New DMs a day at the end"
    )
    start_join = PlainIntegerField(min_value=0, max_value=MAX_DAILY, initial=1)
    target_join = PlainIntegerField(min_value=0, max_value=MAX_DAILY, initial=5)
    actions_per_day = PlainIntegerField(min_value=0, max_value=200, initial=12)
    channels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Public channels to read and join, one per line",
    )
    active_from = forms.TimeField(initial="08:00", widget=forms.TimeInput(attrs={"type": "time"}))
    active_to = forms.TimeField(initial="22:00", widget=forms.TimeInput(attrs={"type": "time"}))
    timezone = forms.ChoiceField(choices=[(z, z) for z in sorted(available_timezones())], initial="UTC")
