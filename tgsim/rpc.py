"""The seam between tgsim's protocol layer and its API handlers.

The protocol layer (server.py, mtproto.py) decrypts a request, unwraps invokeWithLayer /
initConnection, checks injected faults and flood limits, then looks the request's TL constructor up in
HANDLERS and awaits ``handler(call, request)``. A handler returns a TL object (the rpc_result body) or
raises RpcError, which the protocol layer turns into rpc_error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgsim.server import ClientSession, Server
    from tgsim.world import World


class RpcError(Exception):
    """An MTProto rpc_error: ``code`` is Telegram's HTTP-like class, ``message`` the error string."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def bad_request(message: str) -> RpcError:
    return RpcError(400, message)


def flood_wait(seconds: int) -> RpcError:
    return RpcError(420, f"FLOOD_WAIT_{int(seconds)}")


def unauthorized(message: str = "AUTH_KEY_UNREGISTERED") -> RpcError:
    return RpcError(401, message)


@dataclass
class Call:
    """Everything a handler may look at for one RPC."""

    server: Server
    world: World
    session: ClientSession  # the MTProto session (auth key, session id, connection) that sent it
    user_id: int | None  # the user the auth key is signed in as, if any
    method: str  # TL name of the request, e.g. "messages.sendMessage"
    extra: dict[str, Any] = field(default_factory=dict)

    def require_user(self) -> int:
        """The signed-in user's id; Telegram answers 401 AUTH_KEY_UNREGISTERED before sign-in."""
        if self.user_id is None:
            raise unauthorized("AUTH_KEY_UNREGISTERED")
        return self.user_id


Handler = Callable[[Call, Any], Awaitable[Any]]

HANDLERS: dict[int, Handler] = {}


def handles(*request_classes: type) -> Callable[[Handler], Handler]:
    """Register a coroutine as the handler of one or more TL request classes."""

    def register(fn: Handler) -> Handler:
        for cls in request_classes:
            HANDLERS[cls.CONSTRUCTOR_ID] = fn  # type: ignore[attr-defined]
        return fn

    return register
