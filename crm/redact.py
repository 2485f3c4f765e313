"""One place that knows what a Switchboard secret looks like, for logs and Sentry alike.

Secrets are recognised two ways: by the name of the field that carries them (password, login code,
api_hash, session, auth key…) and by shape (a Telethon StringSession or any long base64/hex run, which
is what a serialised auth key or sealed blob looks like).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Generic, TypeVar

REDACTED = "[redacted]"

T = TypeVar("T")


class Secret(Generic[T]):
    """A raw secret (login code, 2FA password, key material) that never shows itself.

    Its repr, str and format are ``[redacted]``, so a frame-locals dump, an f-string or a log line that
    meets one prints nothing useful; the value comes out only through ``reveal()``, at the call that needs
    it. It refuses to be pickled: a secret that must travel (through the broker) is sealed first.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is never pickled; seal it with crm.vault first")


SECRET_NAMES = re.compile(
    r"(pass(word)?|passwd|secret|api_hash|auth_key|session_string|string_session|session_blob"
    r"|phone_code|login_code|^code$|_code$|master_key|token|sessionid|csrf|dsn|authorization|cookie"
    r"|plaintext|data_key|sealed|blob)",
    re.IGNORECASE,
)

# A StringSession is "1" + urlsafe base64 of ~263 bytes; auth keys are 256 bytes. Anything this long
# and this uniform is a key or ciphertext, never something an operator needs to read in a log. A
# Python bytes repr of 16 bytes or more (b'\x8f\x02…', possibly cut short) is how raw key
# material looks once something printed it.
SECRET_SHAPES = re.compile(
    r"[A-Za-z0-9+/_=-]{120,}|(?:[0-9a-fA-F]{2}){64,}|\bb(['\"])(?:(?!\1)[^\\\n]|\\.){16,}"
)

# An API key's token (api.keys): "sb_" + a 12-hex prefix that names the key (kept: it says which key) +
# "_" + the secret (redacted, even cut short). Too short for SECRET_SHAPES to catch on its own.
API_TOKEN = re.compile(r"\b(sb_[0-9a-f]{12}_)[A-Za-z0-9_-]{8,}")


# A Standard Webhooks signing secret (the agent hook's, a webhook endpoint's): "whsec_" + base64.
SIGNING_SECRET = re.compile(r"\b(whsec_)[A-Za-z0-9+/=]{8,}")


def redact_text(text: str) -> str:
    text = SIGNING_SECRET.sub(rf"\g<1>{REDACTED}", text)
    return SECRET_SHAPES.sub(REDACTED, API_TOKEN.sub(rf"\g<1>{REDACTED}", text))


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and bool(SECRET_NAMES.search(name))


def redact(value: Any, *, depth: int = 0) -> Any:
    """Return ``value`` with secret-shaped strings and secret-named entries replaced, recursively."""
    if depth > 12:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED if len(value) >= 32 else value
    if isinstance(value, dict):
        return {
            k: (REDACTED if is_secret_name(k) and v not in (None, "") else redact(v, depth=depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v, depth=depth + 1) for v in value)
    return value


class RedactSecretsFilter(logging.Filter):
    """Scrub secrets from every log record before any handler formats it.

    The traceback is formatted here, redacted, and left in ``exc_text``, which is what
    ``logging.Formatter`` prints when it is set. ``exc_info`` itself stays on the record: handlers that
    need the exception object (Sentry's own, which scrubs with crm.sentry) must not lose the stack trace.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact_text(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None and not getattr(record, "_redacted", False):
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record._redacted = True  # several handlers share one record: format its traceback once
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
