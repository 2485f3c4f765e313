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


def test_an_api_token_keeps_its_prefix_and_loses_its_secret_even_cut_short():
    secret = "Q2xq-_" + "a1B2c3D4e5" * 3 + "zZ9y8x7"
    assert redact(f"Authorization: Bearer sb_0123456789ab_{secret}") == (
        "Authorization: Bearer sb_0123456789ab_[redacted]"
    )
    assert redact(f"token sb_0123456789ab_{secret[:10]}…") == "token sb_0123456789ab_[redacted]…"


def test_a_signing_secret_keeps_its_prefix_and_loses_the_rest():
    from agents.services import secret_new

    secret = secret_new()
    assert redact(f"hook secret is {secret}.") == "hook secret is whsec_[redacted]."
    assert redact(f"cut {secret[:14]}") == "cut whsec_[redacted]"


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


def test_a_log_exception_through_the_configured_handler_keeps_its_traceback_with_secrets_scrubbed():
    import io

    root = logging.getLogger()
    console = next(h for h in root.handlers if h.get_name() == "console")  # from settings.LOGGING

    class Later(logging.Handler):
        """A handler after the console one, as Sentry's or a mail handler could be."""

        seen: list = []

        def emit(self, record):
            self.seen.append(record.exc_info)

    later = Later()
    root.addHandler(later)
    output = io.StringIO()
    previous = console.setStream(output)
    try:
        try:
            _load_session(SESSION)
        except ValueError:
            logging.getLogger("tests.redaction").exception("loading failed")
    finally:
        console.setStream(previous)
        root.removeHandler(later)

    text = output.getvalue()
    assert "loading failed" in text and "Traceback (most recent call last)" in text
    assert "_load_session" in text and "ValueError: bad session [redacted]" in text
    assert SESSION not in text
    # The record keeps its exception for every other handler: the filter must not strip it.
    assert later.seen and later.seen[0] is not None and later.seen[0][0] is ValueError


def _load_session(session: str) -> None:
    raise ValueError(f"bad session {session}")


def test_a_secret_wrapper_never_shows_its_value():
    import pickle

    import pytest

    from crm.redact import Secret

    value = "".join(["open", "-sesame"])
    secret = Secret(value)
    shown = " ".join([repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>20}", repr([secret])])
    assert value not in shown and "[redacted]" in shown
    assert secret.reveal() == value
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_session_reprs_never_show_the_auth_key():
    import os

    from accounts.sessions import SessionState
    from accounts.telegram.session import VaultSession

    key = os.urandom(256)
    state = SessionState(dc_id=2, server_address="127.0.0.1", port=443, auth_key=key)
    session = VaultSession(state, persist=lambda s: None)
    shown = f"{state!r} {session!r} {session.snapshot()!r}"
    assert "dc_id=2" in shown and "auth_key=set" in shown
    for text in (repr(key)[2:-1], key.hex(), key[:64].hex()):
        assert text not in shown


def test_a_printed_bytes_key_is_redacted_even_when_cut_short():
    import os

    from crm.redact import redact_text

    key = os.urandom(64)
    shown = redact_text(f"state auth_key={key!r} pts=3 | truncated {repr(key)[:40]}")
    assert repr(key)[2:20] not in shown and repr(key)[2:12] not in shown
    assert shown.startswith("state auth_key=[redacted]") and "pts=3" in shown
    assert redact_text("short b'abc' stays") == "short b'abc' stays"
