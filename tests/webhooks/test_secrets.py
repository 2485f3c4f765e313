"""No endpoint secret reaches Sentry or the logs when sending fails while the secret is in hand."""

from __future__ import annotations

import logging

from crm.redact import redact_text
from tests.support.sentry import arrived, leaks
from webhooks import tasks
from webhooks.events import NewEvent, events_record


class ExplodingWebhook:
    """Signing that fails with the secret in its message, the worst a library could do."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def sign(self, msg_id, timestamp, data):
        raise RuntimeError(f"cannot sign with {self.secret}")


def test_a_failure_while_signing_sends_no_secret_to_sentry_or_the_log(
    sentry_bodies, endpoint, monkeypatch, caplog
):
    _, secret = endpoint
    monkeypatch.setattr("webhooks.delivery.Webhook", ExplodingWebhook)
    events_record([NewEvent(type="message.received", payload={"text": "hi"})])
    with caplog.at_level(logging.ERROR):
        tasks.sweep()
    arrived(sentry_bodies, "could not be sent")
    assert leaks(sentry_bodies, secret) == []
    assert leaks(sentry_bodies, secret[len("whsec_") :]) == []
    assert "could not be sent" in caplog.text and secret not in caplog.text


def test_a_secret_in_any_text_is_redacted():
    text = redact_text("endpoint secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw and a cut one whsec_MfKQ9r8G")
    assert "MfKQ9r8G" not in text and text.count("whsec_[redacted]") == 2
