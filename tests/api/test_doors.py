"""Both doors, one registry: keys, scopes, the account set, and answers a program can act on."""

from __future__ import annotations

import asyncio
import json
import random

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Account
from api.models import AuditEntry
from api.tools import TOOLS
from tests.api.conftest import bearer
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for, web_server

pytestmark = pytest.mark.django_db

# The tools, by name: what an agent sees in list_tools and a program in the OpenAPI document.
EXPECTED_TOOLS = {
    "me", "entity_resolve", "dialogs_list", "participants_list",
    "messages_read", "messages_send", "messages_edit", "messages_delete", "messages_forward",
    "messages_mark_read", "messages_send_file",
    "chat_create", "chat_delete", "chat_join", "chat_leave",
    "accounts_list", "operation_get", "reports_team", "reports_funnel",
    "inbox_conversations", "inbox_messages", "inbox_reply", "inbox_assign", "inbox_label", "inbox_labels",
    "inbox_note", "inbox_set_state",
    "audiences_list", "audience_create", "audience_import",
    "campaigns_list", "campaign_create", "campaign_start", "campaign_pause", "campaign_progress",
    "scrape_start", "scrape_progress", "scrape_cancel",
}  # fmt: skip


def test_rest_refuses_a_missing_a_wrong_and_a_revoked_key(client, make_account, make_key):
    from api.keys import key_revoke

    account = make_account(status=Account.Status.ACTIVE)
    key, token = make_key([account])
    assert client.get("/api/v1/accounts").status_code == 401
    assert client.get("/api/v1/accounts", **bearer(token[:-1] + "x")).status_code == 401
    answer = client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    assert token not in answer.content.decode()
    assert client.get("/api/v1/accounts", **bearer(token)).status_code == 200
    key_revoke(key_id=key.pk)
    assert client.get("/api/v1/accounts", **bearer(token)).status_code == 401


def test_scopes_and_the_key_s_accounts_decide_403_and_404(client, make_account, make_key):
    mine, theirs = make_account(status=Account.Status.ACTIVE), make_account(status=Account.Status.ACTIVE)
    _, reader = make_key([mine], scopes=["fleet:read"])
    listed = client.get("/api/v1/accounts", **bearer(reader)).json()
    assert [a["id"] for a in listed["accounts"]] == [mine.pk] and listed["total"] == 1
    refused = client.post(
        f"/api/v1/accounts/{mine.pk}/messages",
        {"peer": "@ann", "text": "hi"},
        "application/json",
        **bearer(reader),
    )
    assert refused.status_code == 403 and "messages:send" in refused.json()["reason"]
    _, sender = make_key([mine], scopes=["messages:send"])
    for account_id in (theirs.pk, 10**30, 0, -1):
        answer = client.post(
            f"/api/v1/accounts/{account_id}/messages", {"peer": "@ann", "text": "hi"}, "application/json",
            **bearer(sender),
        )  # fmt: skip
        assert answer.status_code == 404, (account_id, answer.content)
    assert not AuditEntry.objects.exists()  # refusals before any work are not writes


def test_bad_params_get_400_with_details_and_nothing_is_queued(client, make_account, make_key):
    from accounts.models import Operation

    account = make_account(status=Account.Status.ACTIVE)
    _, token = make_key([account])
    bad = [
        {"peer": "@ann", "text": ""},
        {"peer": "@ann", "text": "x" * 4097},
        {"peer": "@ann"},
        {"peer": "@ann", "text": "hi", "colour": "red"},
        {"peer": "@ann", "text": "hi", "parse_mode": "rtf"},
    ]
    for body in bad:
        answer = client.post(
            f"/api/v1/accounts/{account.pk}/messages", body, "application/json", **bearer(token)
        )
        assert answer.status_code == 400, (body, answer.content)
        assert answer.json()["error"] == "invalid" and answer.json()["details"]
    assert not Operation.objects.exists()
    assert client.get("/api/v1/accounts?limit=5000", **bearer(token)).status_code == 400
    assert client.get("/api/v1/accounts?limit=" + "9" * 5000, **bearer(token)).status_code == 400


def test_the_openapi_document_lists_every_tool_and_the_docs_load_nothing_from_elsewhere(client):
    document = client.get("/api/v1/openapi.json").json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert operations == set(TOOLS) == EXPECTED_TOOLS
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/static/ninja/swagger-ui-bundle.js" in docs.content
    assert b"cdn" not in docs.content.lower() and b"https://" not in docs.content


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_send_through_both_doors_arrives_once_per_idempotency_key(
    tgsim, host_env, api_app, make_key, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Api")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Friend", username=f"api{me}")
    _, token = make_key([account])
    with (
        session_host("a", log_path=tmp_path / "host.log", env=host_env),
        web_server(log_path=tmp_path / "web.log") as url,
    ):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(), timeout=30, what="host"
        )
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{random.random()}"}
        body = {"peer": f"@api{me}", "text": "through the REST door"}
        with httpx2.Client(base_url=url, timeout=60) as http:
            first = http.post(f"/api/v1/accounts/{account.pk}/messages", json=body, headers=headers)
            again = http.post(f"/api/v1/accounts/{account.pk}/messages", json=body, headers=headers)
            me_answer = http.get(f"/api/v1/accounts/{account.pk}/me", headers=headers)
        mcp = asyncio.run(_mcp_send(url, token, account.pk, f"@api{me}"))
    assert first.status_code == 200, first.text
    assert again.json()["message_id"] == first.json()["message_id"]
    assert me_answer.json()["telegram_id"] == me
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("through the REST door") == 1 and texts.count("through the MCP door") == 1
    assert mcp["tools"] == EXPECTED_TOOLS
    assert mcp["first"] == mcp["again"]
    assert mcp["denied"]["http_status"] == 404 and mcp["denied_is_error"]
    assert AuditEntry.objects.filter(tool="messages_send", key_name="robot", status=200).count() == 4


async def _mcp_send(url: str, token: str, account_id: int, peer: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        tools = await client.list_tools()
        arguments = {
            "account": account_id,
            "peer": peer,
            "text": "through the MCP door",
            "idempotency_key": "m1",
        }
        first = await client.call_tool("messages_send", arguments)
        again = await client.call_tool("messages_send", arguments)
        denied = await client.call_tool("messages_send", {**arguments, "account": account_id + 10_000})
    return {
        "tools": {t.name for t in tools.tools},
        "first": first.structured_content["message_id"],
        "again": again.structured_content["message_id"],
        "denied": json.loads(denied.content[0].text),
        "denied_is_error": denied.is_error,
    }


@pytest.mark.django_db(transaction=True)
def test_mcp_refuses_initialize_without_a_key(tmp_path):
    with web_server(log_path=tmp_path / "web.log") as url:
        answer = httpx2.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


def test_unknown_query_parameters_are_refused_like_unknown_body_fields(client, make_account, make_key):
    account = make_account(status=Account.Status.ACTIVE)
    _, token = make_key([account])
    answer = client.get("/api/v1/accounts?limit=5&colour=red", **bearer(token))
    assert answer.status_code == 400 and answer.json()["details"][0]["field"] == "colour"
    assert client.get("/api/v1/accounts?limit=5", **bearer(token)).status_code == 200
