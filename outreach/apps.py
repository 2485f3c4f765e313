from __future__ import annotations

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: these modules import models, which need the app registry ready.
        from accounts import budgets
        from accounts import selectors as account_selectors
        from inbox import signals
        from outreach.limits import ramp_limits
        from outreach.outcomes import on_messages_stored, on_outbox_read
        from outreach.selectors import warmup_stage

        # Every budget spent through an account — a campaign's, an admin's join — follows its warm-up ramp.
        budgets.limits_source_set(ramp_limits)
        account_selectors.warmup_stage_from(warmup_stage)
        # Replies and read receipts reach campaign sends in the transaction that stores them.
        signals.messages_stored.connect(on_messages_stored, dispatch_uid="outreach.replies")
        signals.outbox_read.connect(on_outbox_read, dispatch_uid="outreach.reads")
