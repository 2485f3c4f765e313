"""One account's messages through both doors: read, edit, delete, forward, mark read, send a file.

The module shares one account, one session host and one web process (they take seconds to start): the
module's fixture commits their rows (those processes must see them) and flushes the database when the
module is done. The REST door is the web process too; refusals that happen before any command is queued
are also asked of the in-process test client, under settings changed per test.
"""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import json
import os
import threading
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from django.core.management import call_command
from django.test import override_settings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts import services
from accounts.models import Account, Operation, OutgoingFile
from api.fetch import Policy, Refused, fetch, is_public
from api.keys import key_create
from api.models import SCOPES
from crm.models import User
from tests.api.conftest import bearer
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for, web_server

pytestmark = pytest.mark.slow
HIDDEN = "\u200b\u202e"  # a zero-width space and a right-to-left override: never reach an agent


@dataclass(frozen=True)
class World:
    tgsim: Any
    account: Account
    me: int  # the account's Telegram user id
    fran: int  # a friend who writes to the account
    gus: int  # another, to forward to
    token: str
    url: str  # the web process (the MCP door)

    def path(self, tail: str) -> str:
        return f"/api/v1/accounts/{self.account.pk}{tail}"

    def say(self, text: str, *, to_fran: bool = False) -> int:
        """A message in the chat with Fran, from her (or from the account); its id in the account's box."""
        if to_fran:
            return self.tgsim.world_call("say", self.me, self.fran, text=text)
        self.tgsim.world_call("say", self.fran, self.me, text=text)
        return self.chat(self.me, self.fran)[-1]["id"]

    def chat(self, a: int, b: int) -> list[dict]:
        return self.tgsim.world_call("messages_between", a, b)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tgsim, tmp_path_factory):
    logs = tmp_path_factory.mktemp("api-messages")
    web_env = {
        "API_FILE_URL_ALLOW_PRIVATE": "1",
        "API_FILE_URL_ALLOW_INSECURE": "1",
        "API_COMMAND_TIMEOUT": "30",
    }
    # Function-scoped fixtures set these for each test; this fixture writes before any test runs.
    test_settings = override_settings(
        SWITCHBOARD_MASTER_KEYS=os.environ["SWITCHBOARD_MASTER_KEYS"],
        COMMAND_QUEUE_PREFIX=os.environ["COMMAND_QUEUE_PREFIX"],
    )
    with django_db_blocker.unblock(), test_settings:
        admin = User.objects.create_user("ada-messages", password="pw-admin-1", role=User.Role.ADMIN)
        app = services.api_app_create(name="Messages", api_id=611335, api_hash="0123456789abcdef" * 2)
        account, me = ready_account(tgsim, app, first_name="Reader")
        fran = tgsim.world_call("create_user", phone=new_phone(), first_name="Fran", username=f"fran{me}")
        gus = tgsim.world_call("create_user", phone=new_phone(), first_name="Gus", username=f"gus{me}")
        _, token = key_create(name="robot", scopes=SCOPES, accounts=[account], by=admin)
        try:
            with (
                session_host("m", log_path=logs / "host.log", env=tgsim.host_env()),
                web_server(log_path=logs / "web.log", env=web_env) as url,
            ):
                wait_for(
                    lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                    timeout=30,
                    what="host",
                )
                yield World(tgsim=tgsim, account=account, me=me, fran=fran, gus=gus, token=token, url=url)
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _db(db):
    """Each test reads in a transaction of its own; what the processes commit is visible to it."""


def mcp(world: World, tool: str, **arguments) -> tuple[bool, dict]:
    """Call one MCP tool as the world's key; (is_error, body)."""
    return asyncio.run(_mcp(world, tool, {"account": world.account.pk, **arguments}))


async def _mcp(world: World, tool: str, arguments: dict) -> tuple[bool, dict]:
    headers = {"Authorization": f"Bearer {world.token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{world.url}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(tool, arguments)
    if result.is_error:
        return True, json.loads(result.content[0].text)
    return False, result.structured_content


def rest(world: World, method: str, tail: str, *, key: str = "", **request) -> httpx2.Response:
    """Call the REST door of the web process as the world's key (with an Idempotency-Key if given)."""
    headers = {"Authorization": f"Bearer {world.token}", **({"Idempotency-Key": key} if key else {})}
    return httpx2.request(method, world.url + world.path(tail), headers=headers, timeout=60, **request)


# --- reading --------------------------------------------------------------------------------------


def test_it_reads_a_chat_newest_first_pages_and_searches(world):
    ids = [world.say(f"note {n}{HIDDEN}") for n in range(3)]
    newest = rest(world, "GET", "/messages", params={"peer": f"@fran{world.me}", "limit": 2})
    assert newest.status_code == 200, newest.text
    messages = newest.json()["messages"]
    assert [m["id"] for m in messages] == [ids[2], ids[1]]
    assert messages[0]["text"] == "note 2" and messages[0]["sender_name"] == "Fran"
    assert (
        messages[0]["sender_id"] == world.fran and not messages[0]["out"] and messages[0]["media_kind"] == ""
    )

    error, older = mcp(world, "messages_read", peer=f"https://t.me/fran{world.me}", offset_id=ids[1], limit=5)
    assert not error, older
    assert [m["id"] for m in older["messages"]][:1] == [ids[0]]

    error, found = mcp(world, "messages_read", peer=world.fran, search="NOTE 1")
    assert not error and [m["id"] for m in found["messages"]] == [ids[1]]


def test_reading_is_bounded_and_an_unknown_peer_is_rejected(client, world):
    for query in ({"peer": "@x", "limit": 101}, {"peer": "@x", "limit": 0}, {"peer": "", "limit": 5}):
        answer = client.get(world.path("/messages"), query, **bearer(world.token))
        assert answer.status_code == 400 and answer.json()["error"] == "invalid", query
    error, body = mcp(world, "messages_read", peer="@nobody_has_this_name_here", limit=1)
    assert error and body["http_status"] == 400 and body["error"] == "rejected"


# --- edit, delete ---------------------------------------------------------------------------------


def test_it_edits_a_sent_message_and_a_retry_changes_nothing(world):
    sent = world.say("draft", to_fran=True)
    edited = rest(world, "PUT", f"/messages/{sent}", json={"peer": world.fran, "text": "final"})
    assert edited.status_code == 200, edited.text
    assert edited.json() == {"message_id": sent, "changed": True}
    again = rest(world, "PUT", f"/messages/{sent}", json={"peer": world.fran, "text": "final"})
    assert again.status_code == 200 and again.json()["changed"] is False
    assert world.chat(world.fran, world.me)[-1]["text"] == "final"

    error, body = mcp(
        world, "messages_edit", peer=world.fran, message_id=sent, text="<b>bold</b>", parse_mode="html"
    )
    assert not error and body["changed"], body
    assert world.chat(world.fran, world.me)[-1]["text"] == "bold"

    theirs = world.say("not yours")
    refused = rest(world, "PUT", f"/messages/{theirs}", json={"peer": world.fran, "text": "mine now"})
    assert refused.status_code == 400 and refused.json()["telegram_error"] == "MESSAGE_AUTHOR_REQUIRED"
    too_long = rest(world, "PUT", f"/messages/{sent}", json={"peer": world.fran, "text": "x" * 4097})
    assert too_long.status_code == 400 and too_long.json()["error"] == "invalid"


def test_it_deletes_for_everyone_or_only_for_the_account(world):
    first, second = world.say("oops", to_fran=True), world.say("oops again", to_fran=True)
    deleted = rest(
        world, "DELETE", "/messages", params={"peer": f"@fran{world.me}", "ids": [first], "revoke": True}
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted": 1}
    assert "oops" not in [m["text"] for m in world.chat(world.fran, world.me)]

    error, body = mcp(world, "messages_delete", peer=world.fran, ids=[second, first], revoke=False)
    assert not error and body == {"deleted": 1}
    assert "oops again" not in [m["text"] for m in world.chat(world.me, world.fran)]
    assert "oops again" in [m["text"] for m in world.chat(world.fran, world.me)]

    too_many = rest(world, "DELETE", "/messages", params={"peer": "@x", "ids": list(range(1, 102))})
    assert too_many.status_code == 400 and too_many.json()["error"] == "invalid"


# --- forward, mark read ---------------------------------------------------------------------------


def test_a_retried_forward_with_the_same_key_forwards_once(world):
    ids = [world.say("forward me 1"), world.say("forward me 2")]
    body = {"from_peer": world.fran, "ids": ids, "to_peer": f"@gus{world.me}"}
    first = rest(world, "POST", "/forwards", json=body, key="fwd-1")
    again = rest(world, "POST", "/forwards", json=body, key="fwd-1")
    assert first.status_code == 200, first.text
    assert len(first.json()["message_ids"]) == 2 and None not in first.json()["message_ids"]
    assert again.json()["message_ids"] == first.json()["message_ids"]

    arguments = {"from_peer": world.fran, "ids": ids[:1], "to_peer": world.gus, "idempotency_key": "fwd-2"}
    error, one = mcp(world, "messages_forward", **arguments)
    _, repeated = mcp(world, "messages_forward", **arguments)
    assert not error and one["message_ids"] == repeated["message_ids"]
    texts = [m["text"] for m in world.chat(world.gus, world.me)]
    assert texts.count("forward me 1") == 2 and texts.count("forward me 2") == 1

    gone = rest(world, "POST", "/forwards", json={**body, "ids": [2**31 - 1]})
    assert gone.status_code == 400 and gone.json()["telegram_error"] == "MESSAGE_ID_INVALID"


def test_it_marks_a_chat_read_up_to_a_message_or_all_of_it(world):
    ids = [world.say(f"unread {n}") for n in range(3)]
    marked = rest(world, "PUT", "/read-marker", json={"peer": world.fran, "max_id": ids[0]})
    assert marked.status_code == 200 and marked.json() == {"max_id": ids[0]}
    assert world.tgsim.world_call("dialog_state", world.me, world.fran)["read_inbox_max_id"] == ids[0]

    error, body = mcp(world, "messages_mark_read", peer=f"@fran{world.me}")
    assert not error and body == {"max_id": ids[2]}
    assert world.tgsim.world_call("dialog_state", world.me, world.fran)["read_inbox_max_id"] == ids[2]


# --- a file from a URL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files():
    """A plain-HTTP file server on loopback: reachable only with both test settings that allow it."""
    served = {
        "/report.pdf": b"%PDF-1.4 quarterly figures",
        "/big.bin": b"x" * 4096,
        "/stream.bin": b"y" * 4096,
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = served.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            if self.path != "/stream.bin":  # HTTP/1.0 without a length: read until the server closes
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_it_sends_a_file_from_a_url_once_per_idempotency_key(world, files):
    body = {"peer": world.fran, "url": f"{files}/report.pdf", "caption": "Q3 **report**", "parse_mode": "md"}
    first = rest(world, "POST", "/files", json=body, key="file-1")
    again = rest(world, "POST", "/files", json=body, key="file-1")
    assert first.status_code == 200, first.text
    assert again.json()["message_id"] == first.json()["message_id"]
    error, by_mcp = mcp(world, "messages_send_file", peer=f"@fran{world.me}", url=f"{files}/report.pdf",
                        filename="mcp.pdf", idempotency_key="file-2")  # fmt: skip
    assert not error, by_mcp
    chat = world.chat(world.fran, world.me)
    sent = [m for m in chat if m["media"] == "document"]
    assert [m["text"] for m in sent][-2:] == ["Q3 report", ""]
    read = rest(world, "GET", "/messages", params={"peer": world.fran, "limit": 1})
    assert read.json()["messages"][0]["media_kind"] == "document"
    assert not OutgoingFile.objects.exclude(data=b"").exists()  # the bytes go once the file is sent


def test_a_file_url_must_be_https_to_a_public_address(client, world, files, settings):
    auth = bearer(world.token)

    def refused(url: str) -> dict:
        answer = client.post(
            world.path("/files"), {"peer": world.fran, "url": url}, "application/json", **auth
        )
        assert answer.status_code == 400, (url, answer.content)
        return answer.json()

    queued = Operation.objects.count()
    assert "https" in refused(f"{files}/report.pdf")["reason"]
    settings.API_FILE_URL_ALLOW_INSECURE = True
    assert "non-public" in refused(f"{files}/report.pdf")["reason"]  # loopback
    assert "non-public" in refused(files.replace("127.0.0.1", "localhost") + "/report.pdf")["reason"]
    for url in ("https://10.1.2.3/a.pdf", "https://169.254.169.254/latest", "https://[::1]/a.pdf",
                "https://[::ffff:10.0.0.1]/a", "https://224.0.0.1/a"):  # fmt: skip
        assert refused(url)["error"] == "url_refused", url
    settings.API_FILE_URL_ALLOW_PRIVATE = True
    settings.API_FILE_MAX_BYTES = 1024
    assert "larger than 1024 bytes" in refused(f"{files}/big.bin")["reason"]
    missing = client.post(
        world.path("/files"), {"peer": world.fran, "url": f"{files}/nothing.pdf"}, "application/json", **auth
    )
    assert missing.status_code == 502 and missing.json()["error"] == "fetch_failed"
    assert Operation.objects.count() == queued  # nothing reached the account


def test_the_fetch_reads_no_further_than_its_cap_without_a_content_length(files):
    policy = Policy(max_bytes=100, timeout=5, allow_private=True, allow_insecure=True)
    with pytest.raises(Refused, match="larger than 100 bytes"):
        fetch(f"{files}/stream.bin", policy=policy)
    assert fetch(f"{files}/report.pdf", policy=policy).name == "report.pdf"
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert not is_public(ipaddress.ip_address("2002:7f00:1::1"))  # 6to4 around 127.0.0.1
