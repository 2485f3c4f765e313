"""What automation tells the apps above it (the agent hook, webhooks).

- ``message_admitted(message_id, account_id)``: an inbound message (``inbox.Message`` id) passed the
  account's DM or group policy and its conversation's automation is not paused: automation may answer
  it. Sent from the worker task that applies the policies, once per message.
- ``pairing_requested(request_id, account_id)``: an unknown sender asked to be paired (an
  ``automation.PairingRequest`` id). Sent inside the transaction that creates the request.
"""

from __future__ import annotations

from django.dispatch import Signal

message_admitted = Signal()
pairing_requested = Signal()
