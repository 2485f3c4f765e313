"""The declared tools, by area. Importing this package declares them all (api.tools.TOOLS)."""

from __future__ import annotations

from api.catalog import accounts, chats, fleet, inbox, messages, operations, outreach, reports  # noqa: F401
