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
        # No frame locals. They are where raw secrets live while code works on them (the keyring string
        # being parsed, a login code before it is sealed, a session's auth key as escaped bytes inside
        # a repr), in shapes no scrubber recognises reliably; the traceback, the exception and the
        # breadcrumbs are enough to find a bug. scrub_event stays as defence in depth.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: redact(crumb),
    )
