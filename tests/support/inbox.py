"""Inbox test helpers: personas with their own Telethon client in tgsim, and conversation look-ups."""

from __future__ import annotations

import itertools
import os
from typing import Any

from inbox.models import Conversation, Message
from inbox.store import preview_text
from tests.support.accounts import new_phone, ready_account

_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A username no other test (or test process) in the shared tgsim world has taken."""
    return f"{prefix}{os.getpid()}x{next(_names)}"


class Persona:
    """A tgsim user with a logged-in Telethon client, for what the world API cannot do (edit, delete)."""

    def __init__(self, tgsim: Any, *, first_name: str, username: str | None = None) -> None:
        self.tgsim = tgsim
        self.phone = new_phone()
        self.username = username or unique(first_name.lower())
        self.user_id = tgsim.world_call(
            "create_user", phone=self.phone, first_name=first_name, username=self.username
        )
        self.client = tgsim.client()
        tgsim.run(self._login())

    async def _login(self) -> None:
        await self.client.connect()
        await self.client.send_code_request(self.phone)
        await self.client.sign_in(self.phone, "22222")

    def send(self, peer: Any, text: str) -> int:
        return self.tgsim.run(self.client.send_message(peer, text)).id

    def edit(self, peer: Any, message_id: int, text: str) -> None:
        self.tgsim.run(self.client.edit_message(peer, message_id, text))

    def delete(self, peer: Any, message_ids: list[int]) -> None:
        self.tgsim.run(self.client.delete_messages(peer, message_ids, revoke=True))

    def read(self, peer: Any) -> None:
        self.tgsim.run(self.client.send_read_acknowledge(peer))

    def close(self) -> None:
        self.tgsim.run(self.client.disconnect)


def agent(tgsim: Any, api_app: Any, *, first_name: str = "Agent") -> tuple[Any, int, str]:
    """An active account with a username personas can write to: (account, its tgsim user id, @name)."""
    username = unique("agent")
    account, user_id = ready_account(tgsim, api_app, first_name=first_name, username=username)
    return account, user_id, f"@{username}"


def conversation_with(account: Any, peer_id: int) -> Conversation | None:
    return Conversation.objects.filter(account=account, peer_id=peer_id).first()


def texts(account: Any, peer_id: int) -> list[str]:
    return list(
        Message.objects.filter(conversation__account=account, conversation__peer_id=peer_id)
        .order_by("date", "id")
        .values_list("text", flat=True)
    )


def conversation_make(
    account: Any,
    *,
    title: str,
    peer_id: int,
    kind: str = "private",
    texts: tuple[str, ...] = (),
    unread: int = 0,
    **fields: Any,
) -> Conversation:
    """A conversation with inbound messages, written straight to the database (no Telegram needed)."""
    from django.utils import timezone

    conversation = Conversation.objects.create(
        account=account,
        peer_id=peer_id,
        kind=kind,
        title=title,
        unread_count=unread,
        last_message_at=timezone.now(),
        last_message_preview=preview_text(texts[-1], out=False) if texts else "",
        **fields,
    )
    for n, text in enumerate(texts, start=1):
        Message.objects.create(
            conversation=conversation, telegram_id=n, direction="in", text=text, sender_name=title
        )
    return conversation


def persona_send_file(persona: Persona, peer: Any, data: bytes, *, name: str, caption: str = "") -> int:
    """The persona sends a file (a photo when ``name`` ends in .jpg or .png)."""
    import io

    upload = io.BytesIO(data)
    upload.name = name
    return persona.tgsim.run(persona.client.send_file(peer, upload, caption=caption)).id
