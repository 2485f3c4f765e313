"""The server's auth key store: one AuthKeyRecord per permanent key, which is also one authorization.

On Telegram a signed-in "session" in Settings > Devices is an auth key bound to a user; it survives
reconnects and restarts, carries the initConnection parameters it was last used with, and has its own
server salt. Records are saved with the world so restarted clients resume without logging in again.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telethon.tl import types

if TYPE_CHECKING:
    from tgsim.mtproto import ClientSession

SALT_GRACE = 1800.0  # seconds a replaced salt stays valid on automatic rotation, like Telegram's overlap


def _random_long() -> int:
    return struct.unpack("<q", os.urandom(8))[0] or 1


@dataclass(eq=False)
class AuthKeyRecord:
    key: bytes
    key_id: int
    salt: int
    user_id: int | None = None
    created: float = field(default_factory=time.time)
    temp_expires: int | None = None
    hash: int = field(default_factory=_random_long)  # the authorization hash of account.getAuthorizations
    layer: int | None = None
    init: dict[str, Any] = field(default_factory=dict)
    ip: str = ""
    date_created: int = 0  # sign-in time
    date_active: int = 0
    revoked: str | None = None  # a 401 error every call gets, e.g. SESSION_REVOKED
    duplicated: bool = False  # AUTH_KEY_DUPLICATED: Telegram never accepts the key again
    prev_salt: int | None = None
    prev_salt_until: float = 0.0
    sessions: dict[int, ClientSession] = field(default_factory=dict)

    def salt_ok(self, salt: int) -> bool:
        return salt == self.salt or (salt == self.prev_salt and time.time() < self.prev_salt_until)

    def rotate_salt(self, *, grace: float = SALT_GRACE) -> None:
        self.prev_salt, self.prev_salt_until = self.salt, time.time() + grace
        self.salt = _random_long()

    def future_salts(self, req_msg_id: int, num: int) -> types.FutureSalts:
        # tgsim keeps one salt per key until something rotates it, so that is the only one to announce.
        now = datetime.now(UTC)
        salt = types.FutureSalt(valid_since=now, valid_until=now + timedelta(minutes=30), salt=self.salt)
        return types.FutureSalts(req_msg_id=req_msg_id, now=int(now.timestamp()), salts=[salt][: max(num, 1)])

    def authorization(self, *, current: bool) -> types.Authorization:
        """This key as account.getAuthorizations lists it (the current session shows hash 0)."""
        system = self.init.get("system_version", "")
        device = self.init.get("device_model", "")
        lowered = f"{device} {system}".lower()
        if "android" in lowered:
            platform = "android"
        elif "ios" in lowered or "iphone" in lowered:
            platform = "ios"
        else:
            platform = "desktop"
        return types.Authorization(
            hash=0 if current else self.hash,
            device_model=device,
            platform=platform,
            system_version=system,
            api_id=self.init.get("api_id", 0),
            app_name=self.init.get("app_name", "Telethon"),
            app_version=self.init.get("app_version", ""),
            date_created=datetime.fromtimestamp(self.date_created or int(self.created), UTC),
            date_active=datetime.fromtimestamp(self.date_active or int(self.created), UTC),
            ip=self.ip,
            country="Netherlands",
            region="North Holland",
            current=current or None,
        )

    def dump(self) -> dict[str, Any]:
        return {
            "key": self.key.hex(),
            "salt": self.salt,
            "user_id": self.user_id,
            "created": self.created,
            "hash": self.hash,
            "layer": self.layer,
            "init": self.init,
            "ip": self.ip,
            "date_created": self.date_created,
            "date_active": self.date_active,
            "revoked": self.revoked,
            "duplicated": self.duplicated,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> AuthKeyRecord:
        from tgsim.crypto import auth_key_id

        key = bytes.fromhex(data["key"])
        return cls(
            key=key,
            key_id=auth_key_id(key),
            salt=data["salt"],
            user_id=data.get("user_id"),
            created=data.get("created", time.time()),
            hash=data.get("hash") or _random_long(),
            layer=data.get("layer"),
            init=data.get("init") or {},
            ip=data.get("ip", ""),
            date_created=data.get("date_created", 0),
            date_active=data.get("date_active", 0),
            revoked=data.get("revoked"),
            duplicated=data.get("duplicated", False),
        )
