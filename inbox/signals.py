"""What the inbox tells the apps above it (automation, webhooks) about messages it stores.

``messages_stored`` is sent inside the transaction that stores them, so a receiver that writes rows
(a webhook event, say) commits or rolls back with the messages; work outside the database belongs in
``transaction.on_commit``. Keyword arguments, each a list of ``inbox.Message`` ids:

- ``received``: new inbound messages, from ingestion (live updates, catch-up, backfill);
- ``sent``: new outbound messages ingestion saw (sent from another app or device of the account);
- ``edited``: stored messages a newer edit changed;
- ``deleted``: stored messages Telegram deleted.

A message seen twice is stored once, so it is reported once.
"""

from __future__ import annotations

from django.dispatch import Signal

messages_stored = Signal()
