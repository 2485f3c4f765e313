"""One call of an agent hook: a signed POST, and its answer read and judged. No database here.

The request follows the Standard Webhooks specification (signed with the ``standardwebhooks`` package:
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). The URL goes through crm.netguard: https
only, public addresses only (unless the settings allow otherwise), connected to the address that was
checked. Redirects are not followed: a hook that moved is a hook to reconfigure.

One deadline bounds the whole call (connect, send, the answer's every byte), and the answer is read up
to a size cap, so a slow or endless hook cannot hold a worker.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from standardwebhooks.webhooks import Webhook

from crm import netguard
from crm.parsing import text_problem

MAX_ANSWER_BYTES = 64 * 1024
MAX_TEXT = 4096  # Telegram's limit for one message
MAX_MESSAGE_ID = 2**31 - 1  # Telegram message ids are 32-bit


class CallFailed(Exception):
    """The hook was not reached, or answered with an error; ``reason`` is plain words."""

    outcome = "failed"

    def __init__(self, reason: str, *, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class TimedOut(CallFailed):
    """The hook did not answer within its timeout. It may still act on the event: never call again."""

    outcome = "timed_out"


class BadAnswer(CallFailed):
    """The hook answered 2xx with something that is not a reply we can send."""

    outcome = "bad_answer"


@dataclass(frozen=True)
class Answer:
    status_code: int
    text: str | None  # None: the hook chose not to reply
    reply_to: int | None


def check_url(url: str) -> None:
    """Raise crm.netguard.Refused (a ValueError) with a plain reason if the hook URL is not allowed."""
    netguard.check_url(
        url,
        allow_private=settings.AGENT_HOOK_ALLOW_PRIVATE,
        allow_insecure=settings.AGENT_HOOK_ALLOW_INSECURE,
    )


def signed_headers(*, secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``."""
    signature = Webhook(secret).sign(webhook_id, at, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def post(*, url: str, secret: str, webhook_id: str, payload: dict[str, Any], timeout: float) -> Answer:
    """POST the signed ``payload`` and return the hook's judged answer; raises CallFailed (TimedOut,
    BadAnswer) with plain words."""
    deadline = time.monotonic() + timeout
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    headers = signed_headers(secret=secret, webhook_id=webhook_id, body=body, at=datetime.now(UTC))
    headers.update({"Content-Type": "application/json", "User-Agent": "Switchboard-Agent-Hook"})
    try:
        target = netguard.check_url(
            url,
            allow_private=settings.AGENT_HOOK_ALLOW_PRIVATE,
            allow_insecure=settings.AGENT_HOOK_ALLOW_INSECURE,
        )
    except netguard.Refused as refused:
        raise CallFailed(str(refused)) from None
    connection = netguard.pinned_connection(target, timeout=_remaining(deadline))
    try:
        try:
            connection.request("POST", target.path, body=body.encode(), headers=headers)
            if connection.sock is not None:
                connection.sock.settimeout(_remaining(deadline))
            response = connection.getresponse()
            raw = _read(response, connection, deadline)
        except (OSError, http.client.HTTPException) as error:
            raise _failure(error, deadline) from None
        return judge(response.status, raw)
    finally:
        connection.close()


def judge(status: int, raw: bytes) -> Answer:
    """The answer a status and body mean: 204 or an empty 2xx is no reply; other 2xx must be JSON
    ``{"text": "...", "reply_to": <message id>}``."""
    if not 200 <= status < 300:
        raise CallFailed(f"The hook answered {status}", status_code=status)
    if status == 204 or not raw.strip():
        return Answer(status_code=status, text=None, reply_to=None)
    try:
        answer = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadAnswer("The answer is not JSON", status_code=status) from None
    if not isinstance(answer, dict):
        raise BadAnswer("The answer is not a JSON object", status_code=status)
    text = answer.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadAnswer('The answer has no "text" (answer 204 for no reply)', status_code=status)
    if problem := text_problem(text, max_length=MAX_TEXT):
        raise BadAnswer(problem, status_code=status)
    reply_to = answer.get("reply_to")
    if reply_to is not None and (
        isinstance(reply_to, bool) or not isinstance(reply_to, int) or not 0 < reply_to <= MAX_MESSAGE_ID
    ):
        raise BadAnswer('"reply_to" is not a Telegram message id', status_code=status)
    return Answer(status_code=status, text=text.strip(), reply_to=reply_to)


def _read(
    response: http.client.HTTPResponse, connection: http.client.HTTPConnection, deadline: float
) -> bytes:
    declared = response.getheader("Content-Length") or ""
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise BadAnswer(f"The answer is larger than {MAX_ANSWER_BYTES} bytes", status_code=response.status)
    chunks: list[bytes] = []
    size = 0
    while True:
        if connection.sock is not None:
            connection.sock.settimeout(_remaining(deadline))
        chunk = response.read(8192)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise BadAnswer(
                f"The answer is larger than {MAX_ANSWER_BYTES} bytes", status_code=response.status
            )
        chunks.append(chunk)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut("The hook did not answer in time")
    return left


def _failure(error: BaseException, deadline: float) -> CallFailed:
    if isinstance(error, TimeoutError | socket.timeout) or time.monotonic() >= deadline:
        return TimedOut("The hook did not answer in time")
    if isinstance(error, ssl.SSLError):
        return CallFailed("The hook's TLS certificate or handshake failed")
    if isinstance(error, ConnectionRefusedError):
        return CallFailed("The hook refused the connection")
    return CallFailed("The hook could not be reached")
