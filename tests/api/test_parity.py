"""Every tool through both doors: the same call answers the same through REST and MCP (the real web
process), for each declared tool — another key's account, a missing record, missing params."""

from __future__ import annotations

import asyncio
import json
import re

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Account
from api import catalog  # noqa: F401 - declares the tools
from api.tools import TOOLS
from tests.support.processes import web_server

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = {int: 987654321, str: "00000000-0000-0000-0000-000000000000"}


def _calls(other_account: int) -> list[tuple[str, str, str, dict]]:
    """(tool, REST method, REST path, MCP arguments) with every path param filled by something absent."""
    calls = []
    for spec in TOOLS.values():
        arguments: dict = {}
        path = spec.path
        for name in re.findall(r"{(\w+)}", spec.path):
            value = other_account if name == "account" else MISSING[spec.params.model_fields[name].annotation]
            arguments[name] = value
            path = path.replace(f"{{{name}}}", str(value))
        calls.append((spec.name, spec.method, f"/api/v1{path}", arguments))
    return calls


async def _mcp(url: str, token: str, calls: list) -> dict[str, tuple[int, str]]:
    answers = {}
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        for name, _, _, arguments in calls:
            result = await client.call_tool(name, arguments)
            body = json.loads(result.content[0].text)
            answers[name] = (body["http_status"], body["error"]) if result.is_error else (200, "")
    return answers


def test_every_tool_answers_the_same_through_both_doors(make_account, make_key, tmp_path):
    mine, other = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    _, token = make_key([mine])
    calls = _calls(other.pk)
    with web_server(log_path=tmp_path / "web.log") as url:
        with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            rest = {}
            for name, method, path, _ in calls:
                answer = http.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
                rest[name] = (
                    answer.status_code,
                    answer.json().get("error", "") if answer.status_code >= 400 else "",
                )
        mcp = asyncio.run(_mcp(url, token, calls))
    assert set(mcp) == set(TOOLS)
    differing = {name: (rest[name], mcp[name]) for name in TOOLS if rest[name] != mcp[name]}
    assert differing == {}, rest
    # Per-account tools never reach another key's account through either door.
    for spec in TOOLS.values():
        if spec.per_account:
            assert rest[spec.name] in ((404, "not_found"), (400, "invalid")), spec.name
    assert all(status != 500 for status, _ in rest.values())
    statuses = sorted({status for status, _ in rest.values()})
    assert statuses == [200, 400, 404], rest  # the calls reach past the checks
