from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from accounts.leases import Grant
from accounts.models import command_queue

if TYPE_CHECKING:
    from accounts.identity import Profile
    from accounts.telegram.client import TelegramClient
    from accounts.telegram.session import VaultSession


@dataclass
class Hosted:
    """One account held by this host: its lease grant, Telethon client and bookkeeping."""

    grant: Grant
    lease_deadline: float  # monotonic time until which the lease is certainly ours
    version: int = 0
    client: TelegramClient | None = None
    session: VaultSession | None = None
    status: str = ""
    authorized: bool = False
    consuming: bool = False
    paused_until: float = 0.0  # monotonic; cooldown keeps the queue unconsumed until then
    lost: bool = False
    drop_task: asyncio.Task[None] | None = None  # set once the host starts letting go of this client
    severed: bool = False  # let go of without saving: its lease deadline passed, or the liveness lapsed
    fenced: bool = False  # the fence's thread shut its connection at the deadline (accounts.host.fence)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    supervisor: asyncio.Task[None] | None = None
    # The client's update state at the last checkpoint that wrote it (internals.update_mark).
    update_mark: object = None
    profile: Profile | None = None  # who the account is, as stored: identify skips an unchanged one
    connected_at: float = 0.0
    checkpointed_at: float = 0.0
    # One checkpoint at a time: overlapping ones could commit an older update state after a newer one.
    checkpoint_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def account_id(self) -> int:
        return self.grant.account_id

    @property
    def queue(self) -> str:
        return command_queue(self.grant.account_id)

    def lease_certain(self) -> bool:
        return not self.lost and time.monotonic() < self.lease_deadline
