from __future__ import annotations

from typing import Any

from django.apps import AppConfig

from accounts.host import hooks


class InboxConfig(AppConfig):
    name = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Hooks fire only inside session hosts; importing inbox.ingest (and Telethon) waits until then.
        hooks.on_client(_attach)
        hooks.on_checkpoint(_before_checkpoint)


def _attach(hosted: Any) -> None:
    from inbox import ingest

    ingest.attach(hosted)


async def _before_checkpoint(hosted: Any) -> None:
    from inbox import ingest

    await ingest.before_checkpoint(hosted)
