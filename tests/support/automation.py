"""Automation test helpers: what a tgsim user received from an account, and judgement look-ups."""

from __future__ import annotations

from typing import Any

from automation.models import Judgement
from inbox.models import Message


def received_from(tgsim: Any, user_id: int, account_user_id: int) -> list[dict]:
    """Messages the account wrote to this tgsim user, oldest first, as the user's box holds them."""
    return [
        m for m in tgsim.world_call("messages_between", user_id, account_user_id) if m["from_id"] != user_id
    ]


def texts_from(tgsim: Any, user_id: int, account_user_id: int) -> list[str]:
    return [m["text"] for m in received_from(tgsim, user_id, account_user_id)]


def judgement_of(account: Any, text: str) -> Judgement | None:
    """The judgement of the (newest) inbound message with this text, once it is judged."""
    message = (
        Message.objects.filter(conversation__account=account, direction="in", text=text)
        .order_by("-id")
        .first()
    )
    if message is None:
        return None
    return Judgement.objects.filter(pk=message.pk).exclude(reason="judging").first()
