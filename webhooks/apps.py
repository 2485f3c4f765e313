"""Webhooks (Standard Webhooks): what happens in Switchboard, signed and delivered durably."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks import receivers

        receivers.connect()
