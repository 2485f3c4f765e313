"""Automation policies: whom each account answers automatically (DM and group policies, pairing)."""

from __future__ import annotations

from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from automation import receivers
        from inbox import signals

        signals.messages_stored.connect(receivers.messages_stored, dispatch_uid="automation.messages_stored")
