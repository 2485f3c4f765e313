"""Loopback-only HTTP control API for a running tgsim.

    GET  /healthz                 -> {"ok": true, "port": ..., "dc_id": ..., "connections": ...}
    POST /world/<method>  {kwargs} -> World.<method>(**kwargs)      (public methods only)
    POST /faults/<method> {kwargs} -> Faults.<method>(**kwargs)
    POST /sim/save        {"path"} -> save world + auth keys

Answers are JSON: {"result": ...} or {"error": ...}. A few dozen lines of asyncio streams keep it in the
simulator's own event loop, so control calls never race the protocol handlers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import inspect
import ipaddress
import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgsim.sim import Simulator

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
_SIM_METHODS = frozenset({"save"})


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ControlServer:
    def __init__(self, sim: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not _is_loopback(host):
            raise ValueError("the control API only listens on loopback")
        self.sim = sim
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _target(self, kind: str, name: str) -> Any:
        """The bound method a route names, or None. Only public methods the object's class defines."""
        if name.startswith("_"):
            return None
        if kind == "world":
            obj = self.sim.world
        elif kind == "faults":
            obj = self.sim.faults
        elif kind == "sim" and name in _SIM_METHODS:
            obj = self.sim
        else:
            return None
        attr = getattr(type(obj), name, None)
        if attr is None or not callable(attr) or isinstance(attr, property):
            return None
        return getattr(obj, name)

    async def _route(self, verb: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if verb == "GET" and path == "/healthz":
            server = self.sim.server
            return 200, {
                "ok": True,
                "port": server.port,
                "dc_id": server.dc_id,
                "connections": len(server.connections),
                "auth_keys": len(server.keys),
            }
        parts = path.strip("/").split("/")
        if verb != "POST" or len(parts) != 2:
            return 404, {"error": "not found"}
        fn = self._target(parts[0], parts[1])
        if fn is None:
            return 404, {"error": f"no public method {parts[0]}.{parts[1]}"}
        try:
            kwargs = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "body must be a JSON object of keyword arguments"}
        if not isinstance(kwargs, dict):
            return 400, {"error": "body must be a JSON object of keyword arguments"}
        try:
            result = fn(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except (TypeError, ValueError, KeyError, LookupError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:
            log.exception("control call %s failed", path)
            return 500, {"error": f"{type(exc).__name__}: {exc}"}
        return 200, {"result": result}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = writer.get_extra_info("peername")
            if not peer or not _is_loopback(peer[0]):
                return
            request_line = (await reader.readline()).decode("latin-1").split()
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                key, _, value = line.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(request_line) < 2 or length > MAX_BODY:
                status, payload = 400, {"error": "bad request"}
            else:
                body = await reader.readexactly(length) if length else b""
                status, payload = await self._route(request_line[0].upper(), request_line[1], body)
            data = json.dumps(payload, default=_jsonable).encode()
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
