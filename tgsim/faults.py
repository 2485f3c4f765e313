"""Fault injection and flood limits, checked by Server.call before every API handler runs.

Tests and the control API use these to make tgsim misbehave the way Telegram does in production: any
RPC error on demand, banned users, revoked or forgotten auth keys, dropped connections, latency, and
per-method flood bursts answered with FLOOD_WAIT_X.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tgsim.limits import Limits
from tgsim.rpc import RpcError

if TYPE_CHECKING:
    from tgsim.server import Server


def infer_code(message: str) -> int:
    """The error class Telegram uses for a given error string."""
    if message.startswith(("FLOOD_WAIT_", "SLOWMODE_WAIT_", "FLOOD_PREMIUM_WAIT_", "FLOOD_TEST_PHONE_WAIT_")):
        return 420
    if message == "AUTH_KEY_DUPLICATED":
        return 406
    if message.startswith(("AUTH_KEY_", "SESSION_", "USER_DEACTIVATED")):
        return 401
    if message.endswith("_MIGRATE") or re.search(r"_MIGRATE_\d+$", message):
        return 303
    if message in (
        "CHAT_WRITE_FORBIDDEN",
        "CHAT_ADMIN_REQUIRED",
        "USER_PRIVACY_RESTRICTED",
        "USER_IS_BLOCKED",
    ):
        return 403
    if message in ("INTERNAL", "INTERNAL_SERVER_ERROR") or message.endswith("_FAILED"):
        return 500
    return 400  # PEER_FLOOD and the bulk of Telegram's errors are 400s


@dataclass
class _Injected:
    message: str
    code: int
    user_id: int | None
    method: str | None
    remaining: int | None  # None: forever

    def matches(self, user_id: int | None, method: str) -> bool:
        return (self.user_id is None or self.user_id == user_id) and (
            self.method is None or self.method == method
        )


class FloodMeter:
    """Per (subject, method) bursts from Limits: more than `count` calls within `window` seconds earns
    FLOOD_WAIT_`wait`, and calls during the wait keep getting the remaining seconds, as on Telegram."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._calls: dict[tuple[object, str], deque[float]] = {}
        self._blocked: dict[tuple[object, str], float] = {}

    def check(self, subject: object, method: str) -> None:
        if not self.limits.enabled:
            return
        count, window, wait = self.limits.bursts.get(method, self.limits.default_burst)
        now = time.monotonic()
        slot = (subject, method)
        until = self._blocked.get(slot)
        if until is not None:
            if now < until:
                raise RpcError(420, f"FLOOD_WAIT_{math.ceil(until - now)}")
            del self._blocked[slot]
        calls = self._calls.setdefault(slot, deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= count:
            self._blocked[slot] = now + wait
            calls.clear()
            raise RpcError(420, f"FLOOD_WAIT_{wait}")
        calls.append(now)

    def clear(self) -> None:
        self._calls.clear()
        self._blocked.clear()


class Faults:
    # A second connection on an auth key that another connection used within this many seconds earns
    # AUTH_KEY_DUPLICATED; an older, idle connection is closed instead (a client restarted after a crash).
    duplicate_window: float = 20.0

    def __init__(self) -> None:
        self.server: Server | None = None
        self._injected: list[_Injected] = []
        self._banned: set[int] = set()
        self._latency = 0.0
        self.withheld: dict[int, int] = {}  # channel id -> members getParticipants leaves out
        self.served: Counter[str] = Counter()  # injected errors answered so far, by error message

    def attach(self, server: Server) -> None:
        self.server = server

    def _need_server(self) -> Server:
        if self.server is None:
            raise RuntimeError("Faults is not attached to a running Server")
        return self.server

    # --- the public fault API (also reachable as POST /faults/<name>) -------------------------------

    def inject(
        self,
        error_message: str,
        *,
        code: int | None = None,
        user_id: int | None = None,
        method: str | None = None,
        count: int | None = 1,
    ) -> None:
        """Answer the next `count` matching calls (None: all of them) with this RPC error."""
        self._injected.append(
            _Injected(error_message, code or infer_code(error_message), user_id, method, count)
        )

    def ban(self, user_id: int) -> None:
        """Every call from the user's auth keys that needs a signed-in user answers 401
        USER_DEACTIVATED_BAN, as after a spam ban (help.* still works, so clients can connect)."""
        self._banned.add(user_id)

    def unban(self, user_id: int) -> None:
        self._banned.discard(user_id)

    def is_banned(self, user_id: int | None) -> bool:
        return user_id in self._banned

    def revoke_sessions(self, user_id: int) -> int:
        """Terminate all of the user's sessions: their keys answer 401 SESSION_REVOKED from now on (to
        calls that need a signed-in user) until someone signs in on them again."""
        return self._need_server().revoke_user_keys(user_id, "SESSION_REVOKED")

    def forget_key(self, target: int, *, mode: str = "404") -> int:
        """Make auth keys unknown. `target` is an auth_key_id or a user id (all that user's keys).

        mode "404": the key is deleted, as when Telegram drops a key; its next packet is answered with the
        -404 transport error, which Telethon turns into AuthKeyNotFound (it disconnects). mode
        "unregistered": the key survives but is signed out, so calls answer 401 AUTH_KEY_UNREGISTERED
        (Telethon's AuthKeyUnregisteredError), which is what a session terminated elsewhere sees.
        """
        server = self._need_server()
        if mode == "404":
            return server.forget_key(target)
        if mode == "unregistered":
            return server.unregister_key(target)
        raise ValueError("mode must be '404' or 'unregistered'")

    def drop_connections(self, user_id: int | None = None) -> int:
        """Close TCP connections (all, or the user's); clients are expected to reconnect by themselves."""
        return self._need_server().drop_connections(user_id)

    def bad_salt(self, user_id: int | None = None) -> int:
        """Rotate server salts without grace, so the next message on those keys earns bad_server_salt."""
        return self._need_server().rotate_salts(user_id)

    def latency(self, seconds: float) -> None:
        """Delay every API call by this many seconds before it is handled."""
        self._latency = max(0.0, float(seconds))

    def set_duplicate_window(self, seconds: float) -> None:
        """How recently another connection must have been used for a new one to be AUTH_KEY_DUPLICATED."""
        self.duplicate_window = max(0.0, float(seconds))

    def participants_page(self, size: int = Limits.participants_page_max) -> None:
        """Answer channels.getParticipants with at most ``size`` members per page, whatever limit the
        client asks for. Telegram's maximum is 200, but a server may cut a page shorter (others send 100):
        a client must advance its offset by what it received."""
        self._need_server().limits.participants_page_max = max(1, min(200, int(size)))

    def withhold_participants(self, chat_id: int, count: int) -> None:
        """Leave the last ``count`` members of a group out of every channels.getParticipants list while
        ``count`` (and participants_count) still include them: on Telegram the member list can yield
        fewer people than the group reports."""
        self.withheld[int(chat_id)] = max(0, int(count))

    def clear(self) -> None:
        """Drop injected errors, bans, latency and member-list settings, and forget flood history."""
        self._injected.clear()
        self._banned.clear()
        self._latency = 0.0
        self.withheld.clear()
        if self.server is not None:
            self.server.flood.clear()
            self.server.limits.participants_page_max = Limits.participants_page_max

    # --- used by Server.call ------------------------------------------------------------------------

    async def before_call(self, user_id: int | None, method: str, *, needs_auth: bool = True) -> None:
        if needs_auth and user_id is not None and user_id in self._banned:
            raise RpcError(401, "USER_DEACTIVATED_BAN")
        if self._latency:
            await asyncio.sleep(self._latency)
        for rule in self._injected:
            if rule.matches(user_id, method):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._injected.remove(rule)
                self.served[rule.message] += 1
                raise RpcError(rule.code, rule.message)
