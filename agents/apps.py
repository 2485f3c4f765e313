from __future__ import annotations

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agents.receivers import on_message_admitted
        from automation.signals import message_admitted

        message_admitted.connect(on_message_admitted, dispatch_uid="agents.hook_queue")
