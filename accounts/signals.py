"""What accounts tell the apps above them (webhooks) about account changes.

Each signal is sent inside the transaction that makes the change, so a receiver that writes rows (a
webhook event) commits or rolls back with it; work outside the database belongs in
``transaction.on_commit``. Keyword arguments:

- ``status_changed(account_id, from_status, to_status, reason, cooldown_until)``: the account moved to
  another status (or a new cooldown replaced the last); ``cooldown_until`` is set for ``cooldown``.
- ``flood_waited(account_id, seconds, reason)``: Telegram made the account wait ``seconds`` (a
  FLOOD_WAIT longer than FLOOD_SLEEP_THRESHOLD; shorter ones are slept through in place), so it cools
  down; ``status_changed`` to ``cooldown`` is sent in the same transaction.
"""

from __future__ import annotations

from django.dispatch import Signal

status_changed = Signal()
flood_waited = Signal()
