"""Admins keep the inbox's shared vocabulary here: labels, canned replies, business hours."""

from __future__ import annotations

from django.contrib import admin

from inbox.models import BusinessHours, CannedReply, Contact, Label


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
    # Contacts come from Telegram; only the opt-out is ours to change.
    readonly_fields = ("telegram_id", "username", "first_name", "last_name", "phone", "is_bot", "is_deleted")


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    """Hours apply to events recorded from now on; recorded events keep the hours they were measured in."""

    list_display = ("__str__", "timezone", "weekdays", "start", "end")
