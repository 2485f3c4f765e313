from __future__ import annotations

from django.apps import AppConfig

from accounts.host import hooks


class InboxConfig(AppConfig):
    name = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: ingest imports models, which need the app registry ready. The hooks
        # fire only inside session hosts.
        from inbox import ingest, notify, signals

        signals.messages_stored.connect(notify.on_messages_stored, dispatch_uid="inbox.notify")

        hooks.on_client(ingest.attach)
        hooks.on_checkpoint(ingest.before_checkpoint)
