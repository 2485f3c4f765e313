"""Reads of the agent hook: the event body a hook receives, and the console's delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account
from agents.models import AgentHook, HookCall
from inbox.models import Conversation, Message


def sender_id(*, message: Message) -> int | None:
    """The Telegram user id of who wrote ``message``: its sender, or a private chat's peer."""
    if message.sender_id is not None and message.sender is not None:
        return message.sender.telegram_id
    if message.conversation.kind == Conversation.Kind.PRIVATE and message.direction == Message.Direction.IN:
        return message.conversation.peer_id
    return None


def hook_of(*, account: Account) -> AgentHook | None:
    return AgentHook.objects.filter(account=account).first()


def hook_of_queryset() -> QuerySet[AgentHook]:
    return AgentHook.objects.select_related("account")


def call_log(*, hook: AgentHook) -> QuerySet[HookCall]:
    """The hook's delivery log, newest first."""
    return HookCall.objects.filter(hook=hook).select_related("reply").order_by("-started_at", "-id")


def event_payload(*, message: Message, context_size: int) -> dict[str, Any]:
    """The body of a ``message.received`` event (docs/agent-hook.md describes every field)."""
    conversation = message.conversation
    return {
        "type": "message.received",
        "timestamp": _iso(timezone.now()),
        "data": {
            "account": _account(conversation.account),
            "conversation": {
                "id": conversation.pk,
                "peer_id": conversation.peer_id,
                "kind": conversation.kind,
                "title": conversation.title,
                "username": conversation.username,
            },
            "message": {
                "id": message.pk,
                "telegram_id": message.telegram_id,
                "text": message.text,
                "date": _iso(message.date),
                "reply_to": message.reply_to_id,
                "media_kind": message.media_kind or None,
                "sender": _sender(message),
            },
            "context": context(message=message, size=context_size),
        },
    }


def context(*, message: Message, size: int) -> list[dict[str, Any]]:
    """Up to ``size`` messages of the conversation before ``message``, oldest first."""
    if size <= 0:
        return []
    earlier = (
        Message.objects.filter(conversation_id=message.conversation_id, deleted=False, date__lte=message.date)
        .exclude(pk=message.pk)
        .order_by("-date", "-id")[:size]
    )
    return [
        {
            "telegram_id": m.telegram_id,
            "direction": m.direction,
            "text": m.text,
            "date": _iso(m.date),
            "sender_name": m.sender_name,
            "automated": bool(m.automation),
        }
        for m in reversed(list(earlier))
    ]


def test_payload(*, hook: AgentHook) -> dict[str, Any]:
    """An ``agent.test`` event: the shape of a real one, with made-up conversation data."""
    now = _iso(timezone.now())
    return {
        "type": "agent.test",
        "timestamp": now,
        "data": {
            "account": _account(hook.account),
            "conversation": {"id": 0, "peer_id": 0, "kind": "private", "title": "Test", "username": ""},
            "message": {
                "id": 0,
                "telegram_id": 0,
                "text": "This is a test event from Switchboard. Nothing you answer is sent.",
                "date": now,
                "reply_to": None,
                "media_kind": None,
                "sender": {"telegram_id": 0, "username": "", "name": "Switchboard"},
            },
            "context": [],
        },
    }


def _account(account: Account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "telegram_id": account.telegram_id,
        "username": account.username,
        "name": account.display_name,
    }


def _sender(message: Message) -> dict[str, Any]:
    contact = message.sender
    return {
        "telegram_id": sender_id(message=message),
        "username": contact.username if contact else "",
        "name": contact.display_name if contact else message.sender_name,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
