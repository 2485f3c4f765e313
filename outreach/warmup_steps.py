"""Warm-up actions on the session host: read a channel, join one, react, chat with a pool account."""

from __future__ import annotations

import random
import secrets
from typing import Any

from accounts import telegram
from accounts.host.commands import Failed
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from outreach import warmup
from outreach.steps import _require_login, take_budget

SMALL_TALK = [
    "Hi! How is your week going?",
    "Morning :)",
    "Did you see the news today?",
    "Ha, agreed",
    "Talk later?",
    "Thanks for yesterday!",
]


async def perform(hosted: Hosted, *, action_id: int) -> dict[str, Any]:
    _require_login(hosted)
    action = await db(warmup.action_load)(action_id=action_id)
    if action is None or action.plan.account_id != hosted.account_id:
        return {"ok": True, "skipped": "no such action for this account"}
    if action.ok:
        return {"ok": True, "skipped": "already done"}  # a redelivered command
    detail = await _do(hosted, action.kind, action.target)
    await db(warmup.action_finished)(action_id=action_id, ok=True, detail=detail)
    return {"ok": True, "kind": action.kind, "detail": detail}


async def _do(hosted: Hosted, kind: str, target: str) -> str:
    client = hosted.client
    if kind == "read":
        seen = await telegram.messages.read_channel(client, target=target)
        return f"read {seen} posts in {target}"
    if kind == "join":
        await take_budget(hosted, "join")
        joined = await telegram.chats.join(client, target=target)
        return f"joined {joined.title or target}"
    if kind == "react":
        emoji = random.choice(warmup.EMOJI)
        reacted = await telegram.messages.react_latest(client, target=target, emoji=emoji)
        return f"reacted {emoji} in {target}" if reacted else f"nothing to react to in {target}"
    if kind == "chat":
        await take_budget(hosted, "message")
        await telegram.messages.send_message(
            client, peer=f"@{target}", text=random.choice(SMALL_TALK), random_id=secrets.randbits(63)
        )
        return f"wrote to @{target}"
    raise Failed(f"unknown warm-up action {kind}")
