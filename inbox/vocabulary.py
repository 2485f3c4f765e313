"""Admins keep the inbox's shared vocabulary inside Switchboard: labels (name and colour) and canned
replies (the /shortcut operators type in the reply box). Django's admin stays for superusers' repairs."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.parsing import text_problem
from crm.permissions import admin_required
from inbox.models import CannedReply, Label
from inbox.services import MAX_TEXT

COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["name", "color"]
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if problem := text_problem(name, max_length=40):
            raise forms.ValidationError(problem)
        if not name:
            raise forms.ValidationError("Give the label a name")
        taken = Label.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"There is a label “{name}” already")
        return name

    def clean_color(self) -> str:
        color = self.cleaned_data["color"]
        if not COLOR.fullmatch(color):
            raise forms.ValidationError("A colour looks like #2a7ae2")
        return color.lower()


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["shortcut", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"shortcut": "Letters, digits, - and _; operators type /shortcut in the reply box"}

    def clean_shortcut(self) -> str:
        shortcut = self.cleaned_data["shortcut"].lower()
        taken = CannedReply.objects.filter(shortcut=shortcut).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"/{shortcut} is taken already")
        return shortcut

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if problem := text_problem(text, max_length=MAX_TEXT):
            raise forms.ValidationError(problem)
        return text


def _labels_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    rows = Label.objects.annotate(used=Count("conversations")).order_by("name")
    context: dict[str, Any] = {
        "rows": [(row, extra.pop(f"form_{row.pk}", None) or LabelForm(instance=row)) for row in rows]
    }
    context.update(new=extra.pop("new", None) or LabelForm(), **extra)
    return render(request, "inbox/settings_labels.html", context)


@admin_required
def labels(request: HttpRequest) -> HttpResponse:
    """Every label with how many conversations carry it; add, rename, recolour, delete."""
    if request.method == "POST":
        form = LabelForm(request.POST)
        if not form.is_valid():
            return _labels_page(request, new=form)
        form.save()
        return redirect("vocabulary:labels")
    return _labels_page(request)


@admin_required
@require_POST
def label_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = LabelForm(request.POST, instance=get_object_or_404(Label, pk=pk))
    if not form.is_valid():
        return _labels_page(request, **{f"form_{pk}": form})
    form.save()
    return redirect("vocabulary:labels")


@admin_required
@require_POST
def label_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """The label goes from every conversation that carried it; the conversations stay."""
    get_object_or_404(Label, pk=pk).delete()
    return redirect("vocabulary:labels")


def _replies_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    rows = CannedReply.objects.order_by("shortcut")
    context: dict[str, Any] = {
        "rows": [(row, extra.pop(f"form_{row.pk}", None) or CannedReplyForm(instance=row)) for row in rows]
    }
    context.update(new=extra.pop("new", None) or CannedReplyForm(), **extra)
    return render(request, "inbox/settings_replies.html", context)


@admin_required
def replies(request: HttpRequest) -> HttpResponse:
    """Every canned reply; add, edit, delete."""
    if request.method == "POST":
        form = CannedReplyForm(request.POST)
        if not form.is_valid():
            return _replies_page(request, new=form)
        form.save()
        return redirect("vocabulary:replies")
    return _replies_page(request)


@admin_required
@require_POST
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = CannedReplyForm(request.POST, instance=get_object_or_404(CannedReply, pk=pk))
    if not form.is_valid():
        return _replies_page(request, **{f"form_{pk}": form})
    form.save()
    return redirect("vocabulary:replies")


@admin_required
@require_POST
def reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(CannedReply, pk=pk).delete()
    return redirect("vocabulary:replies")
