"""The web process: Django for the console and /api/v1/, the MCP endpoint at /mcp (api.mcp), whose
session manager runs for the life of the ASGI lifespan."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
# Many requests at once share a bounded pool of database connections here (crm.env): when hundreds of
# open pages reconnect their streams together, they wait their turn instead of exhausting PostgreSQL.
os.environ.setdefault("DATABASE_POOL_MAX", "20")

django_app = get_asgi_application()

# After Django is set up: the MCP door reads settings and the tool registry reads models.
from api.mcp import Endpoint, session_manager  # noqa: E402


class Switchboard:
    def __init__(self) -> None:
        self.manager = session_manager()
        self.mcp = Endpoint(self.manager)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].rstrip("/") == "/mcp":
            await self.mcp(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        async with self.manager.run():
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


application = Switchboard()
