from __future__ import annotations

import logging

from crm.redact import RedactSecretsFilter, redact

SESSION = "1" + "AbCdEfGh12-_" * 30


def test_redact_hides_secret_named_fields_and_secret_shaped_strings():
    event = {"password": "x", "phone_code": "12345", "note": f"loaded {SESSION}", "count": 3}
    assert redact(event) == {
        "password": "[redacted]",
        "phone_code": "[redacted]",
        "note": "loaded [redacted]",
        "count": 3,
    }


def test_log_records_are_scrubbed_including_their_tracebacks():
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "session %s", (SESSION,), None)
    try:
        raise ValueError(SESSION)
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    assert SESSION not in record.getMessage()
    assert SESSION not in (record.exc_text or "")
    assert "ValueError" in (record.exc_text or "")
