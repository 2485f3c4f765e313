"""Answers a program can act on, through both doors: a FLOOD_WAIT is 429 with Retry-After (and isError
on MCP), a banned account 409 with the reason, Telegram's own refusals carry its error name."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Account
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def _mcp_call(url: str, token: str, name: str, arguments: dict) -> tuple[bool, dict]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(name, arguments)
    return result.is_error, json.loads(result.content[0].text)


def test_flood_waits_bans_and_telegram_refusals_answer_as_documented(
    tgsim, host_env, api_app, make_key, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Errors")
    doomed, doomed_me = ready_account(tgsim, api_app, first_name="Doomed")
    tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"err{me}")
    _, token = make_key([account, doomed])
    send = f"/api/v1/accounts/{account.pk}/messages"
    send_doomed = f"/api/v1/accounts/{doomed.pk}/messages"
    body = {"peer": f"@err{me}", "text": "hello"}
    with (
        session_host("a", log_path=tmp_path / "host.log", env=host_env),
        web_server(log_path=tmp_path / "web.log") as url,
        httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
    ):
        for held, user in ((account, me), (doomed, doomed_me)):
            wait_for(
                lambda h=held, u=user: Account.objects.filter(pk=h.pk, telegram_id=u).exists(),
                timeout=30,
                what="host",
            )
        # Telegram refuses with an error we have no recovery for: 502 with its name.
        tgsim.fault(
            "inject", "MESSAGE_NOT_MODIFIED_SOMEHOW", code=400, user_id=me, method="messages.sendMessage"
        )
        refused = http.post(send, json=body)
        # A long FLOOD_WAIT: 429 with Retry-After; the account cools down and the command waits.
        tgsim.fault("inject", "FLOOD_WAIT_40", user_id=me, method="messages.sendMessage")
        flooded = http.post(send, json=body)
        cooling = asyncio.run(_mcp_call(url, token, "messages_send", {"account": account.pk, **body}))
        # A ban: the command fails 409, and everything after it is answered 409 at once.
        tgsim.fault("ban", doomed_me)
        first_banned = http.post(send_doomed, json=body)
        banned = http.post(send_doomed, json=body)
        banned_mcp = asyncio.run(_mcp_call(url, token, "messages_send", {"account": doomed.pk, **body}))
    assert refused.status_code in (400, 502), refused.text
    assert refused.json()["telegram_error"] == "MESSAGE_NOT_MODIFIED_SOMEHOW"
    assert flooded.status_code == 429, flooded.text
    assert 40 <= int(flooded.headers["Retry-After"]) <= 60
    assert flooded.json()["error"] == "wait" and flooded.json()["wait_reason"] == "flood"
    is_error, problem = cooling
    assert is_error and problem["http_status"] == 429 and problem["retry_after"] > 0
    assert first_banned.status_code == 409, first_banned.text
    assert banned.status_code == 409 and banned.json()["status"] == "banned"
    assert "USER_DEACTIVATED_BAN" in banned.json()["reason"] or "banned" in banned.json()["reason"]
    assert banned_mcp[0] and banned_mcp[1]["http_status"] == 409 and banned_mcp[1]["status"] == "banned"
