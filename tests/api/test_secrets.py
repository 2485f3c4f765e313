"""An API key's secret shows once, on the page that made it, and nowhere after: not in logs, Sentry
events, the audit log, API answers (good, bad and wrong-scheme tokens, DEBUG on) or any later page."""

from __future__ import annotations

import asyncio
import logging
import re

import httpx2
import pytest
from django.test import Client
from django.urls import reverse
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Account, Operation
from api.catalog import fleet
from api.keys import TOKEN
from api.models import SCOPES, ApiKey, AuditEntry
from tests.support.processes import web_server
from tests.support.sentry import arrived, leaks

pytestmark = pytest.mark.django_db
PAGE_TOKEN = re.compile(r"sb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
LATER_PAGES = [
    ("apikeys:index", {}),
    ("apikeys:new", {}),
    ("apikeys:audit", {}),
    ("apikeys:audit", {"tool": "messages_send"}),
    ("accounts:index", {}),
    ("inbox:index", {}),
]


def created_token(admin_client, account: Account) -> tuple[str, str]:
    """A key made through the console, as an admin would: (token, its secret part)."""
    page = admin_client.post(
        reverse("apikeys:new"), {"name": "leak check", "scopes": list(SCOPES), "accounts": [account.pk]}
    ).content.decode()
    token = PAGE_TOKEN.search(page).group()
    return token, TOKEN.fullmatch(token).group(2)


def wrong(secret: str) -> str:
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


def test_the_secret_is_in_no_log_sentry_event_audit_entry_answer_or_later_page(
    admin_client, make_account, settings, caplog, sentry_bodies, monkeypatch
):
    settings.DEBUG = True
    settings.API_COMMAND_TIMEOUT = 0.5  # no host holds the account: a send answers 202
    caplog.set_level(logging.DEBUG)
    account = make_account(status=Account.Status.ACTIVE)
    token, secret = created_token(admin_client, account)
    prefix = token[: -len(secret)]
    api = Client(raise_request_exception=False)
    answers = []

    def call(method: str, path: str, expect: int, **extra) -> None:
        answer = getattr(api, method)(path, **extra)
        assert answer.status_code == expect, (path, extra.keys(), answer.content[:300])
        answers.append(answer)

    send = f"/api/v1/accounts/{account.pk}/messages"
    body = {"data": {"peer": "@ann", "text": "hi"}, "content_type": "application/json"}
    call("get", "/api/v1/accounts", 200, HTTP_AUTHORIZATION=f"Bearer {token}")
    call("post", send, 202, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY="k1", **body)
    operation = answers[-1].json()["operation_url"]
    call("get", operation, 200, HTTP_AUTHORIZATION=f"Bearer {token}")
    call(
        "post",
        send,
        400,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        data={"peer": "@ann"},
        content_type="application/json",
    )
    for authorization in (
        f"Token {token}",
        f"Basic {token}",
        f"Bearer {prefix}{wrong(secret)}",
        f"Bearer {token}x",
        f"{token}",
        f"Bearer {secret}",
    ):
        call("get", "/api/v1/accounts", 401, HTTP_AUTHORIZATION=authorization)
        call("post", send, 401, HTTP_AUTHORIZATION=authorization, **body)
    call("get", f"/api/v1/accounts?api_key={token}", 401)
    call("get", "/api/v1/accounts", 401, HTTP_X_API_KEY=token)

    # A handler that fails while the request carries the token: DEBUG's plain-text traceback, the log
    # and the Sentry event must not carry it; then the same without DEBUG (Django's 500 and its event).
    def fail(account):
        raise RuntimeError("health check failed")

    monkeypatch.setattr(fleet, "_health", fail)
    call("get", "/api/v1/accounts", 500, HTTP_AUTHORIZATION=f"Bearer {token}")
    settings.DEBUG = False
    call("get", "/api/v1/accounts", 500, HTTP_AUTHORIZATION=f"Bearer {token}")
    arrived(sentry_bodies, "RuntimeError", "health check failed")

    later = [admin_client.get(reverse(name), query) for name, query in LATER_PAGES]
    later.append(admin_client.get(reverse("apikeys:revoke", args=[ApiKey.objects.get().pk])))
    later.append(admin_client.get(reverse("accounts:detail", args=[account.pk])))
    assert all(page.status_code == 200 for page in later)
    assert prefix[:-1] in later[0].content.decode()  # the list names the key by its prefix

    assert leaks(sentry_bodies, secret) == []
    assert leaks([caplog.text.encode()], secret) == [], "a log record"
    for answer in answers + later:
        assert leaks([answer.content, str(answer.headers).encode()], secret) == [], answer.request[
            "PATH_INFO"
        ]
    stored = [
        *AuditEntry.objects.values(),
        *Operation.objects.values(),
        *ApiKey.objects.values(),
        dict(admin_client.session.items()),
    ]
    assert AuditEntry.objects.filter(key_name="leak check", tool="messages_send", status=202).exists()
    assert leaks([repr(stored).encode()], secret) == [], "the database or the session"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_web_process_logs_no_secret_from_either_door_at_debug_level(admin_client, make_account, tmp_path):
    account = make_account(status=Account.Status.ACTIVE)
    token, secret = created_token(admin_client, account)
    log = tmp_path / "web.log"
    mcp_init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    with web_server(log_path=log, env={"DEBUG": "1", "LOG_LEVEL": "DEBUG"}) as url:
        with httpx2.Client(base_url=url, timeout=30) as http:
            statuses = [
                http.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status_code,
                http.get("/api/v1/accounts", headers={"Authorization": f"Token {token}"}).status_code,
                http.post(
                    "/mcp", json=mcp_init, headers={**accept, "Authorization": f"Token {token}"}
                ).status_code,
                http.post(
                    "/mcp", json=mcp_init, headers={**accept, "Authorization": f"Bearer {wrong(token)}"}
                ).status_code,
            ]
            bodies = [http.get("/api/v1/accounts", headers={"Authorization": f"Token {token}"}).content]
        tools = asyncio.run(_mcp_tools(url, token))
    assert statuses == [200, 401, 401, 401] and "accounts_list" in tools
    assert leaks([log.read_bytes(), *bodies], secret) == []


async def _mcp_tools(url: str, token: str) -> set[str]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        McpClient(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        found = await client.list_tools()
        await client.call_tool("accounts_list", {})
    return {tool.name for tool in found.tools}
