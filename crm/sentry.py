"""Sentry set-up with a scrubber: no session, key, code or password ever leaves in an event."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from crm.redact import redact


def scrub_event(event: Any, hint: dict[str, Any]) -> Any:
    """Redact every string in the event: messages, exception values, frame locals, request data."""
    return redact(event)


def init_sentry(dsn: str, *, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=True,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: redact(crumb),
    )
