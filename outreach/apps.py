from __future__ import annotations

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: selectors import models, which need the app registry ready.
        from accounts import selectors as account_selectors
        from outreach.selectors import warmup_stage

        account_selectors.warmup_stage_from(warmup_stage)
