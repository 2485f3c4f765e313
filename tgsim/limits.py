"""Realistic limits tgsim enforces by default, so Switchboard's budgets are tested against pushback."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Limits:
    enabled: bool = True
    # Per (user, method) bursts: more than `count` calls within `window` seconds earn FLOOD_WAIT_`wait`.
    # Methods not listed use `default_burst`.
    bursts: dict[str, tuple[int, float, int]] = field(
        default_factory=lambda: {
            "messages.sendMessage": (30, 1.0, 3),
            "contacts.resolveUsername": (5, 10.0, 30),
            "channels.joinChannel": (5, 60.0, 300),
            "channels.getParticipants": (30, 10.0, 10),
            "auth.sendCode": (5, 3600.0, 3600),
        }
    )
    default_burst: tuple[int, float, int] = (200, 1.0, 2)
    # PEER_FLOOD once a user sent first DMs to this many users who never wrote to it, within a day.
    peer_flood_new_dms_per_day: int = 50
    # contacts.resolveUsername calls per user per day before FLOOD_WAIT until the day ends.
    resolve_username_per_day: int = 200
    # getParticipants: at most this many members are reachable by offset paging.
    participants_visible_cap: int = 10_000
    participants_page_max: int = 200
