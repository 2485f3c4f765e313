"""Messages of one account: send (exactly once with an Idempotency-Key), and more to come."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from accounts import commands
from api.tools import Call, Params, tool

Text = Annotated[str, Field(min_length=1, max_length=4096)]
Peer = Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class SendParams(Params):
    peer: Peer = Field(description="@username, t.me link, phone (+…) or peer id")
    text: Text
    parse_mode: Literal["md", "html"] | None = None
    reply_to: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    silent: bool = False
    link_preview: bool = True


class SentMessage(BaseModel):
    message_id: int
    operation: str


@tool("messages_send", "POST", "/accounts/{account}/messages", scope="messages:send", queued=True)
def messages_send(call: Call, params: SendParams) -> SentMessage:
    """Send a text message as the account; 202 with an operation when its host is slower than the request."""
    assert call.account is not None
    random_id = call.random_id() or secrets.randbits(63)
    sent = call.command(commands.send, random_id=random_id, **params.model_dump())
    return SentMessage(message_id=sent.message_id, operation=call.operation)
