"""The world's window on the protocol server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgsim.limits import Limits


class Net:
    """The world's window on the protocol server: pushes, presence, limits. Inert before attach()."""

    def __init__(self) -> None:
        self.server: Any = None

    @property
    def limits(self) -> Limits | None:
        return getattr(self.server, "limits", None)

    @property
    def dc_id(self) -> int:
        return int(getattr(self.server, "dc_id", 2) or 2)

    def is_online(self, user_id: int) -> bool:
        if self.server is None:
            return False
        online = getattr(self.server, "is_online", None)
        return bool(online(user_id)) if online else True

    def push(self, user_id: int, updates: object, exclude: object = None) -> None:
        if self.server is not None:
            self.server.push(user_id, updates, exclude=exclude)
