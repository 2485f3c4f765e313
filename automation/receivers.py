"""What automation listens to: the inbox storing received messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from automation import tasks


def messages_stored(sender: Any, *, received: Sequence[int] = (), **kwargs: Any) -> None:
    """Sent inside the storing transaction on the session host: the policies run on the general worker,
    once the messages are committed, never on the host's loop. Robust: a broker that cannot take the task
    is logged and never fails the storing of what was received (those messages go unjudged)."""
    if not received:
        return
    ids = list(received)
    transaction.on_commit(lambda: tasks.messages_judge.delay(ids), robust=True)
