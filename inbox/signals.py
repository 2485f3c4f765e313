"""What the inbox tells the apps above it (outreach, automation, webhooks) about messages it stores.

``messages_stored`` is sent inside the transaction that stores them, so a receiver that writes rows
(a webhook event, say) commits or rolls back with the messages; work outside the database belongs in
``transaction.on_commit``. Keyword arguments, each a list of ``inbox.Message`` ids:

- ``received``: new inbound messages, from ingestion (live updates, catch-up, backfill);
- ``sent``: new outbound messages ingestion saw (sent from another app or device of the account);
- ``edited``: stored messages a newer edit changed;
- ``deleted``: stored messages Telegram deleted.

A message seen twice is stored once, so it is reported once.

``outbox_read`` is sent in the same way when read receipts move forward: ``conversation_ids``, the
conversations whose peer has now read our messages further (``Conversation.read_outbox_max_id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

messages_stored = Signal()
outbox_read = Signal()


def on_received(work: Callable[[list[int]], object], *, what: str) -> Callable[..., None]:
    """A ``messages_stored`` receiver that hands ``work`` the received ids in a savepoint of its own: work
    that fails is logged and skipped, never a reason for the messages not to be stored."""

    def receiver(sender: Any, received: Iterable[int] = (), **kwargs: Any) -> None:
        ids = list(received)
        if not ids:
            return
        try:
            with transaction.atomic():
                work(ids)
        except Exception:
            log.exception("could not %s for %d stored messages; they are stored", what, len(ids))

    return receiver
