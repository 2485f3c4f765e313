from __future__ import annotations

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every budget taken through an account — a campaign's, an admin's join — follows its warm-up ramp.
        from accounts import budgets
        from outreach.limits import account_limits  # models are loaded only once the app is ready

        budgets.limits_source_set(account_limits)
