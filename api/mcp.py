"""The MCP door: /mcp, streamable HTTP through the official SDK's low-level server, one MCP tool per
declared tool (api.tools). Per-account tools take ``account``; writes take ``idempotency_key``. Errors
come back as tool results with ``isError`` and the same Problem body as REST, never success-shaped.

Mounted in crm/asgi.py; the session manager runs for the life of the ASGI lifespan.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from api import catalog  # noqa: F401 - declares the tools
from api.keys import key_for
from api.models import ApiKey
from api.tools import TOOLS, Problem, Tool, run

KEY = "switchboard.api_key"  # where the ASGI wrapper leaves the caller's key in the request scope


def input_schema(spec: Tool) -> dict[str, Any]:
    """The params' JSON schema, plus ``account`` for a per-account tool and ``idempotency_key`` for a
    write that is not idempotent by itself."""
    schema = spec.params.model_json_schema()
    properties = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    if spec.per_account:
        properties["account"] = {"type": "integer", "minimum": 1, "description": "The account's id"}
        required.insert(0, "account")
    if not spec.idempotent:
        properties["idempotency_key"] = {
            "type": "string",
            "maxLength": 200,
            "description": "A retry with the same key does the write once",
        }
    schema.update(type="object", properties=properties, required=required, additionalProperties=False)
    return schema


def _tool(spec: Tool) -> types.Tool:
    return types.Tool(
        name=spec.name,
        description=spec.summary,
        input_schema=input_schema(spec),
        output_schema=spec.result.model_json_schema(),
        annotations=types.ToolAnnotations(
            title=spec.summary,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.per_account,  # per-account tools reach Telegram
        ),
    )


async def _list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[_tool(spec) for spec in TOOLS.values()])


def _call(spec: Tool, key: ApiKey, arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        return _run(spec, key, arguments)
    finally:
        # A pool thread of the web process: its connection must not outlive the call (the web process
        # would otherwise hold one per thread it ever used).
        connection.close()


def _run(spec: Tool, key: ApiKey, arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    values = dict(arguments)
    account = values.pop("account", None) if spec.per_account else None
    idempotency_key = values.pop("idempotency_key", "") if not spec.idempotent else ""
    if account is not None and not isinstance(account, int):
        account = None  # the schema asks for an integer; anything else is no account of this key
    answer = run(
        spec,
        key=key,
        door="mcp",
        account_id=account,
        values=values,
        idempotency_key=str(idempotency_key or ""),
    )
    return answer.status, answer.body.model_dump(mode="json", exclude_none=isinstance(answer.body, Problem))


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    spec = TOOLS.get(params.name)
    key = ctx.request.scope.get(KEY) if ctx.request is not None else None
    if spec is None or key is None:
        problem = Problem(error="not_found", reason=f"No tool named {params.name}")
        return _result(404, problem.model_dump(exclude_none=True))
    status, body = await sync_to_async(_call, thread_sensitive=False)(spec, key, params.arguments or {})
    return _result(status, body)


def _result(status: int, body: dict[str, Any]) -> types.CallToolResult:
    failed = status >= 400
    if failed:
        body = {"http_status": status, **body}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(body, ensure_ascii=False))],
        structured_content=None if failed else body,
        is_error=failed,
    )


server: Server[Any] = Server(
    "switchboard",
    version="1",
    instructions="Every account of a Telegram fleet: read, send, manage chats, work the inbox and outreach. "
    "Errors are results with isError and a Problem body: wait (retry_after), unavailable, rejected, "
    "host_timeout (an operation to poll with operation_get).",
    on_list_tools=_list_tools,
    on_call_tool=_call_tool,
)


def session_manager() -> StreamableHTTPSessionManager:
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection="*" not in settings.ALLOWED_HOSTS,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=[f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
        + [f"{scheme}://{h}:*" for h in hosts for scheme in ("http", "https")],
    )
    return StreamableHTTPSessionManager(
        app=server, stateless=True, json_response=True, security_settings=security
    )


class Endpoint:
    """The ASGI app at /mcp: a valid API key or 401, then the SDK's streamable HTTP transport."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        scheme, _, token = headers.get("authorization", "").partition(" ")
        key = await sync_to_async(_key, thread_sensitive=False)(token) if scheme.lower() == "bearer" else None
        if key is None:
            body = Problem(error="unauthorized", reason="Send a valid API key: Authorization: Bearer sb_…")
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="switchboard"'),
                    ],
                }
            )
            await send(
                {"type": "http.response.body", "body": body.model_dump_json(exclude_none=True).encode()}
            )
            return
        await self.manager.handle_request({**scope, KEY: key}, receive, send)


def _key(token: str) -> ApiKey | None:
    try:
        return key_for(token)
    finally:
        connection.close()
