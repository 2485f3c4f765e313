"""The admin webhook for account alerts, posted by the general worker (queued by services.alert_send).

Not in accounts.tasks: services, which the session host uses, import this module, while accounts.tasks
holds the account commands that sit above the host.
"""

from __future__ import annotations

import json
import urllib.request

from celery import shared_task
from django.conf import settings

from accounts.models import Account


@shared_task(name="accounts.deliver_alert", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deliver_alert(*, account_id: int, status: str, reason: str) -> None:
    """POST an account alert to the admin webhook (no secrets: id, status, reason, phone, name)."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None or not settings.ALERT_WEBHOOK_URL:
        return
    alert_post(
        {
            "account_id": account_id,
            "phone": account.phone,
            "name": account.display_name,
            "status": status,
            "reason": reason,
        }
    )


def alert_post(body: dict[str, object]) -> None:
    """POST one alert to ALERT_WEBHOOK_URL (accounts here, webhook endpoints in webhooks.tasks)."""
    if not settings.ALERT_WEBHOOK_URL.startswith(("https://", "http://")):
        raise ValueError("ALERT_WEBHOOK_URL must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        settings.ALERT_WEBHOOK_URL,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - scheme checked above
        pass
