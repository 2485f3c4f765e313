"""Why a command cannot run on this host now (a leaf module: the host and the command runner share it)."""

from __future__ import annotations


class NotHeld(Exception):
    """This host does not (or no longer) hold the account: the command belongs to another host."""


class Paused(Exception):
    """The account's queue is paused here (a cooldown, a dropped connection): the command goes back."""

    def __init__(self, seconds: float, *, flood: bool = False) -> None:
        super().__init__(f"account paused for {seconds:.0f} s")
        self.seconds = seconds
        self.flood = flood  # Telegram's FLOOD_WAIT: the account cools down this long
