"""Entities, dialogs, members and chats of one account, through both doors, against tgsim.

One tgsim world, one session host and one web process serve the whole module: the account, its key and
the processes are set up once (committed, outside the tests' transactions) and the database is emptied
when the module ends, as a transactional test would leave it.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass

import httpx2
import pytest
from django.core.management import call_command
from django.test import override_settings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts import budgets, services
from accounts.models import Account
from api.keys import key_create
from api.models import SCOPES
from crm.models import User
from tests.conftest import TEST_KEYRING
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@dataclass(frozen=True)
class Fleet:
    url: str
    token: str  # every scope
    reader: str  # messages:read only
    account: Account
    me: int  # the account's Telegram user id

    def rest(self, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        with httpx2.Client(base_url=self.url, timeout=60) as http:
            return http.request(
                method, f"/api/v1/accounts/{self.account.pk}{path}", headers=headers, **kwargs
            )

    def mcp(self, tool: str, **arguments) -> tuple[bool, dict]:
        """(is_error, body) of one MCP tool call for the account."""
        return asyncio.run(self._mcp(tool, {"account": self.account.pk, **arguments}))

    async def _mcp(self, tool: str, arguments: dict) -> tuple[bool, dict]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{self.url}/mcp", http_client=http)) as client,
        ):
            answer = await client.call_tool(tool, arguments)
        body = answer.structured_content if not answer.is_error else json.loads(answer.content[0].text)
        return bool(answer.is_error), body


@pytest.fixture(scope="module")
def fleet(tgsim, django_db_setup, django_db_blocker, tmp_path_factory):
    logs = tmp_path_factory.mktemp("api-chats")
    env = {**tgsim.env(), "SESSION_LEASE_TTL": "6", "SESSION_CHECKPOINT_INTERVAL": "2"}
    keyring = override_settings(
        SWITCHBOARD_MASTER_KEYS=TEST_KEYRING, COMMAND_QUEUE_PREFIX=os.environ["COMMAND_QUEUE_PREFIX"]
    )
    with django_db_blocker.unblock(), keyring:
        tgsim.fault("clear")
        admin = User.objects.create_user("ada", password="pw-admin-1", role=User.Role.ADMIN)
        app = services.api_app_create(name="Chats test", api_id=611335, api_hash="0123456789abcdef" * 2)
        account, me = ready_account(tgsim, app, first_name="Chats")
        _, token = key_create(name="robot", scopes=SCOPES, accounts=[account], by=admin)
        _, reader = key_create(name="reader", scopes=["messages:read"], accounts=[account], by=admin)
        try:
            with (
                session_host("chats", log_path=logs / "host.log", env=env),
                web_server(log_path=logs / "web.log") as url,
            ):
                wait_for(
                    lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                    timeout=30,
                    what="the host to validate the account",
                )
                yield Fleet(url=url, token=token, reader=reader, account=account, me=me)
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _user(tgsim, name: str, **fields) -> int:
    return tgsim.world_call("create_user", phone=new_phone(), first_name=name, **fields)


def test_an_entity_resolves_by_username_link_phone_and_id(fleet, tgsim):
    tag = uuid.uuid4().hex[:8]
    ann = _user(tgsim, "Ann\u202e\u200bLee", last_name="Hidden", username=f"ann{tag}")
    phone = tgsim.world_call("user_info", ann)["phone"]
    channel = tgsim.world_call("create_channel", title=f"News {tag}", owner_id=ann, username=f"news{tag}")

    by_name = fleet.rest("GET", "/entity", params={"peer": f"@ann{tag}"})
    by_phone = fleet.rest("GET", "/entity", params={"peer": f"+{phone}"})
    by_id = fleet.rest("GET", "/entity", params={"peer": str(ann)})
    is_error, by_link = fleet.mcp("entity_resolve", peer=f"https://t.me/news{tag}")
    _, by_int = fleet.mcp("entity_resolve", peer=-1_000_000_000_000 - channel)

    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == {
        "kind": "user",
        "id": ann,
        "name": "AnnLee Hidden",  # bidi and zero-width characters stripped
        "username": f"ann{tag}",
        "bot": False,
    }
    assert by_phone.json()["id"] == ann and by_id.json()["id"] == ann
    assert not is_error and by_link["kind"] == "channel" and by_link["name"] == f"News {tag}"
    assert by_int["id"] == -1_000_000_000_000 - channel


def test_an_unknown_or_malformed_entity_is_rejected_in_plain_words(fleet):
    free = fleet.rest("GET", "/entity", params={"peer": f"@nobody{uuid.uuid4().hex[:10]}"})
    malformed = fleet.rest("GET", "/entity", params={"peer": "@a"})
    is_error, unseen = fleet.mcp("entity_resolve", peer=987654321)
    too_long = fleet.rest("GET", "/entity", params={"peer": "x" * 201})

    assert free.status_code == 400 and free.json()["error"] == "rejected"
    assert "cannot find" in free.json()["reason"]
    assert malformed.status_code == 400 and malformed.json()["error"] == "rejected"
    assert is_error and unseen["http_status"] == 400 and unseen["error"] == "rejected"
    assert too_long.status_code == 400 and too_long.json()["error"] == "invalid"


def test_dialogs_are_the_main_list_or_the_archive(fleet, tgsim):
    kept, archived = _user(tgsim, "Kept"), _user(tgsim, "Shelved")
    tgsim.world_call("say", kept, to_user_id=fleet.me, text="keep me")
    tgsim.world_call("say", archived, to_user_id=fleet.me, text="archive me")
    tgsim.world_call("archive", fleet.me, archived)

    main = fleet.rest("GET", "/dialogs", params={"limit": 500})
    is_error, archive = fleet.mcp("dialogs_list", archived=True, limit=10)

    assert main.status_code == 200, main.text
    main_ids = {d["id"] for d in main.json()["dialogs"]}
    assert kept in main_ids and archived not in main_ids
    assert not is_error and [(d["id"], d["archived"]) for d in archive["dialogs"]] == [(archived, True)]
    assert archive["dialogs"][0]["title"] == "Shelved" and archive["dialogs"][0]["unread_count"] == 1
    for bad in ({"limit": 0}, {"limit": 501}, {"archived": "maybe"}):
        assert fleet.rest("GET", "/dialogs", params=bad).status_code == 400, bad


def test_participants_of_a_group_by_recency_and_by_name(fleet, tgsim):
    tag = uuid.uuid4().hex[:8]
    owner = _user(tgsim, "Owner")
    zed, ann = _user(tgsim, "Zed", last_name="Quill"), _user(tgsim, "Ann", username=f"ann{tag}")
    tgsim.world_call(
        "create_group",
        title=f"Club {tag}",
        owner_id=owner,
        members=[zed, ann, fleet.me],
        username=f"club{tag}",
    )
    news = tgsim.world_call("create_channel", title=f"Broadcast {tag}", owner_id=owner, username=f"bc{tag}")
    tgsim.world_call("add_members", news, [fleet.me])

    everyone = fleet.rest("GET", "/participants", params={"chat": f"@club{tag}", "limit": 200})
    is_error, found = fleet.mcp("participants_list", chat=f"https://t.me/club{tag}", search="Qui")
    hidden = fleet.rest("GET", "/participants", params={"chat": f"@bc{tag}"})
    too_many = fleet.rest("GET", "/participants", params={"chat": f"@club{tag}", "limit": 201})

    assert everyone.status_code == 200, everyone.text
    assert everyone.json()["total"] == 4
    assert {p["id"] for p in everyone.json()["participants"]} == {owner, zed, ann, fleet.me}
    assert not is_error and found["participants"] == [
        {"id": zed, "first_name": "Zed", "last_name": "Quill", "username": "", "bot": False}
    ]
    assert hidden.status_code == 400 and hidden.json()["telegram_error"] == "CHAT_ADMIN_REQUIRED"
    assert too_many.status_code == 400 and too_many.json()["error"] == "invalid"


def test_a_supergroup_and_a_channel_are_created_once_and_deleted_by_their_creator(fleet, tgsim):
    tag = uuid.uuid4().hex[:8]
    once = {"Idempotency-Key": f"create-{tag}"}
    body = {"title": f"Made {tag}", "about": "by the API"}
    created = fleet.rest("POST", "/chats", json=body, headers=once)
    again = fleet.rest("POST", "/chats", json=body, headers=once)
    is_error, channel = fleet.mcp("chat_create", title=f"Cast {tag}", kind="channel", idempotency_key=tag)
    refused = fleet.rest("POST", "/chats", json=body, token=fleet.reader)

    assert created.status_code == 200, created.text
    group = created.json()
    assert group["kind"] == "group" and group["name"] == f"Made {tag}" and again.json() == group
    assert not is_error and channel["kind"] == "channel"
    assert refused.status_code == 403
    titles = tgsim.run(lambda: [c.title for c in tgsim.world.channels.values()])
    assert titles.count(f"Made {tag}") == 1

    deleted = fleet.rest("DELETE", "/chats", params={"chat": str(group["id"])})
    is_error, gone = fleet.mcp("chat_delete", chat=channel["id"])
    assert deleted.status_code == 200 and deleted.json()["done"], deleted.text
    assert not is_error and gone["done"]
    remaining = tgsim.run(lambda: set(tgsim.world.channels))
    assert {-1_000_000_000_000 - group["id"], -1_000_000_000_000 - channel["id"]}.isdisjoint(remaining)
    for bad in (
        {"title": ""},
        {"title": "x" * 129},
        {"title": "ok", "about": "x" * 256},
        {"title": "ok", "kind": "basic"},
    ):
        assert fleet.rest("POST", "/chats", json=bad).status_code == 400, bad


def test_only_the_creator_may_delete_and_a_chat_the_account_cannot_find_is_rejected(fleet, tgsim):
    tag = uuid.uuid4().hex[:8]
    owner = _user(tgsim, "Founder")
    theirs = tgsim.world_call(
        "create_group", title=f"Theirs {tag}", owner_id=owner, members=[fleet.me], username=f"theirs{tag}"
    )

    refused = fleet.rest("DELETE", "/chats", params={"chat": f"@theirs{tag}"})
    is_error, unknown = fleet.mcp("chat_delete", chat=f"@gone{tag}")

    assert refused.status_code == 400 and refused.json()["telegram_error"] == "CHAT_ADMIN_REQUIRED"
    assert tgsim.run(lambda: theirs in tgsim.world.channels)
    assert is_error and unknown["http_status"] == 400 and unknown["error"] == "rejected"


def test_joining_and_leaving_through_both_doors_within_the_join_budget(fleet, tgsim):
    tag = uuid.uuid4().hex[:8]
    owner = _user(tgsim, "Host")
    public = tgsim.world_call("create_group", title=f"Open {tag}", owner_id=owner, username=f"open{tag}")
    private = tgsim.world_call("create_group", title=f"Closed {tag}", owner_id=owner)
    link = tgsim.world_call("invite_link", private)

    once = {"Idempotency-Key": f"join-{tag}"}
    joined = fleet.rest("POST", "/memberships", json={"chat": f"https://t.me/open{tag}"}, headers=once)
    again = fleet.rest("POST", "/memberships", json={"chat": f"https://t.me/open{tag}"}, headers=once)
    is_error, by_invite = fleet.mcp("chat_join", chat=link)
    members = tgsim.run(lambda: {c: set(tgsim.world.channels[c].members) for c in (public, private)})

    left = fleet.rest("DELETE", "/memberships", params={"chat": f"@open{tag}"})
    left_error, left_invite = fleet.mcp("chat_leave", chat=by_invite["id"])
    not_a_chat = fleet.rest("DELETE", "/memberships", params={"chat": str(owner)})

    assert joined.status_code == 200, joined.text
    assert joined.json()["title"] == f"Open {tag}" and again.json() == joined.json()
    assert not is_error and by_invite["title"] == f"Closed {tag}"
    assert fleet.me in members[public] and fleet.me in members[private]
    assert left.status_code == 200 and not left_error and left_invite["done"]
    assert fleet.me not in tgsim.run(lambda: set(tgsim.world.channels[public].members))
    assert fleet.me not in tgsim.run(lambda: set(tgsim.world.channels[private].members))
    assert not_a_chat.status_code == 400 and not_a_chat.json()["error"] == "rejected"

    # The one budget policy: with the day's joins spent, the next join waits and says for how long.
    for _ in range(budgets.DEFAULT_BUDGETS["join"].limit):
        budgets.take(account_id=fleet.account.pk, action="join")
    waiting = fleet.rest("POST", "/memberships", json={"chat": f"@open{tag}"})
    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) > 0
    assert waiting.json()["wait_reason"] == "budget"
