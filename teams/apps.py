from __future__ import annotations

from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inbox import signals
        from teams import assign

        # After inbox's own receiver (inbox is installed first): a message that arrives in an unassigned
        # conversation notifies nobody there; the operator it is assigned to here is told instead.
        signals.messages_stored.connect(assign.on_messages_stored, dispatch_uid="teams.auto_assign")
