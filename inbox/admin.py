"""Admins keep the inbox's shared vocabulary here: labels, canned replies, business hours."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from inbox.models import BusinessHours, CannedReply, Contact, Label, OptOut


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("shortcut", "text")
    search_fields = ("shortcut", "text")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("display_name", "username", "telegram_id", "opted_out")
    search_fields = ("username", "first_name", "last_name", "telegram_id")
    list_filter = ("opted_out",)
    # Contacts come from Telegram. The opt-out is recorded (and removed by an admin) from a conversation,
    # where who did it, when and why are kept (inbox.optout); here it is only shown.
    readonly_fields = (
        "telegram_id", "username", "first_name", "last_name", "phone", "is_bot", "is_deleted", "opted_out",
    )  # fmt: skip


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """The history of opt-outs, read only: changes go through the conversation (inbox.optout)."""

    list_display = ("contact", "reason", "created_by", "created_at", "removed_by", "removed_at")
    list_filter = ("removed_at",)
    search_fields = ("contact__username", "contact__first_name", "contact__telegram_id", "reason")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    """Hours apply to events recorded from now on; recorded events keep the hours they were measured in."""

    list_display = ("__str__", "timezone", "weekdays", "start", "end")
