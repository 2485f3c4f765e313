"""What the agent hook listens to: automation's ``message_admitted``."""

from __future__ import annotations

from typing import Any

from agents import services


def on_message_admitted(sender: Any, *, message_id: int, account_id: int, **kwargs: Any) -> None:
    services.hook_queue(message_id=message_id, account_id=account_id)
