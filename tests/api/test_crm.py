"""Fleet CRM tools: the inbox (conversations, messages, reply, assign, label, note, close/reopen) and
outreach (audiences, campaigns, scrape jobs), through the REST door and, once per area, through MCP."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from django.utils import timezone
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Account, Operation
from api.models import AuditEntry
from inbox.models import Label, Message, Note
from outreach.models import Audience, AudienceMember, Campaign, ScrapeJob
from tests.api.conftest import bearer
from tests.support import outreach as build
from tests.support.inbox import conversation_make
from tests.support.processes import web_server

pytestmark = pytest.mark.django_db

HIDDEN = "\u202e\u200b\x07"  # a bidi override, a zero-width space and a control character


@pytest.fixture
def fleet(make_account, make_key):
    """Two accounts of the key, one of another key, and the key's token."""
    mine = make_account(status=Account.Status.ACTIVE)
    second = make_account(status=Account.Status.ACTIVE)
    theirs = make_account(status=Account.Status.ACTIVE)
    _, token = make_key([mine, second])
    return mine, second, theirs, token


def get(client, token, path, **query):
    return client.get(f"/api/v1{path}", query, **bearer(token))


def send(client, token, method, path, body=None, **headers):
    call = getattr(client, method.lower())
    return call(f"/api/v1{path}", json.dumps(body or {}), "application/json", **bearer(token), **headers)


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [row["id"] for row in answer.json()["conversations"]]


# --- inbox ----------------------------------------------------------------------------------------


def test_conversations_are_the_key_s_accounts_with_the_inbox_filters(client, fleet, operator):
    mine, second, theirs, token = fleet
    hello = conversation_make(
        mine, title=f"Ann{HIDDEN}", peer_id=101, texts=(f"hello{HIDDEN} pricing",), unread=2
    )
    quiet = conversation_make(second, title="Bob", peer_id=102, texts=("nothing here",), assignee=operator)
    closed = conversation_make(mine, title="Cid", peer_id=103, texts=("bye",), state="closed")
    group = conversation_make(mine, title="Team", peer_id=-104, kind="group", texts=("standup",))
    conversation_make(theirs, title="Eve", peer_id=105, texts=("pricing too",))
    label = Label.objects.create(name="vip")
    quiet.labels.add(label)

    assert set(ids(get(client, token, "/inbox/conversations"))) == {hello.pk, quiet.pk, group.pk}
    assert ids(get(client, token, "/inbox/conversations", state="closed")) == [closed.pk]
    assert len(ids(get(client, token, "/inbox/conversations", state="all"))) == 4
    assert ids(get(client, token, "/inbox/conversations", unread="true")) == [hello.pk]
    assert ids(get(client, token, "/inbox/conversations", search="pricing")) == [hello.pk]
    assert ids(get(client, token, "/inbox/conversations", label=label.pk)) == [quiet.pk]
    assert ids(get(client, token, "/inbox/conversations", assignee=operator.pk)) == [quiet.pk]
    assert quiet.pk not in ids(get(client, token, "/inbox/conversations", unassigned="true"))
    assert ids(get(client, token, "/inbox/conversations", kind="group")) == [group.pk]
    assert ids(get(client, token, "/inbox/conversations", account=second.pk)) == [quiet.pk]
    assert ids(get(client, token, "/inbox/conversations", account=theirs.pk)) == []

    first = get(client, token, "/inbox/conversations", limit=2).json()
    rest = get(client, token, "/inbox/conversations", limit=2, offset=2).json()
    assert first["has_more"] and not rest["has_more"]
    assert len({r["id"] for r in first["conversations"] + rest["conversations"]}) == 3
    row = next(r for r in first["conversations"] + rest["conversations"] if r["id"] == quiet.pk)
    assert row["assignee"] == {"id": operator.pk, "username": "otto"}
    assert row["labels"] == [{"id": label.pk, "name": "vip"}]
    shown = next(r for r in first["conversations"] + rest["conversations"] if r["id"] == hello.pk)
    assert shown["title"] == "Ann" and shown["last_message_preview"] == "hello pricing"

    for bad in ({"limit": 201}, {"offset": -1}, {"state": "gone"}, {"search": "x" * 201}, {"label": 0}):
        assert get(client, token, "/inbox/conversations", **bad).status_code == 400, bad


def test_a_conversation_s_messages_page_back_and_come_without_hidden_characters(client, fleet):
    mine, _, theirs, token = fleet
    texts = tuple(f"m{n}{HIDDEN}" for n in range(5))
    conversation = conversation_make(mine, title="Ann", peer_id=201, texts=texts)
    other = conversation_make(theirs, title="Eve", peer_id=202, texts=("secret",))

    latest = get(client, token, f"/inbox/conversations/{conversation.pk}/messages", limit=3).json()
    assert [m["text"] for m in latest["messages"]] == ["m2", "m3", "m4"] and latest["has_older"]
    before = latest["messages"][0]["id"]
    older = get(client, token, f"/inbox/conversations/{conversation.pk}/messages", limit=3, before=before)
    assert [m["text"] for m in older.json()["messages"]] == ["m0", "m1"] and not older.json()["has_older"]
    for conversation_id in (other.pk, 10**9, 10**30):
        answer = get(client, token, f"/inbox/conversations/{conversation_id}/messages")
        assert answer.status_code in (404, 400) and "secret" not in answer.content.decode()
    assert get(client, token, f"/inbox/conversations/{other.pk}/messages").status_code == 404


def test_a_reply_is_stored_pending_once_per_idempotency_key(client, fleet):
    mine, _, theirs, token = fleet
    conversation = conversation_make(mine, title="Ann", peer_id=301, texts=("hi",))
    path = f"/inbox/conversations/{conversation.pk}/replies"

    first = send(client, token, "POST", path, {"text": "Hello Ann"}, HTTP_IDEMPOTENCY_KEY="r-1")
    again = send(client, token, "POST", path, {"text": "Hello Ann"}, HTTP_IDEMPOTENCY_KEY="r-1")
    other = send(client, token, "POST", path, {"text": "Hello Ann"}, HTTP_IDEMPOTENCY_KEY="r-2")
    assert first.status_code == 200, first.content
    assert first.json()["delivery"] == "pending" and first.json()["direction"] == "out"
    assert again.json()["id"] == first.json()["id"] and other.json()["id"] != first.json()["id"]
    replies = Message.objects.filter(conversation=conversation, direction="out")
    assert replies.count() == 2 and all(m.random_id for m in replies)
    assert Operation.objects.filter(command="inbox.reply").count() == 2
    assert replies.get(pk=first.json()["id"]).sent_by is None  # by the API: no operator

    channel = conversation_make(mine, title="News", peer_id=-302, kind="channel", texts=("post",))
    refused = send(client, token, "POST", f"/inbox/conversations/{channel.pk}/replies", {"text": "hi"})
    assert refused.status_code == 400 and refused.json()["error"] == "rejected"
    elsewhere = send(
        client, token, "POST", f"/inbox/conversations/{channel.pk}/replies", {"text": "x"},
        HTTP_IDEMPOTENCY_KEY="r-1",
    )  # fmt: skip
    assert elsewhere.status_code == 400  # the key named a reply in another conversation
    hidden = conversation_make(theirs, title="Eve", peer_id=303, texts=("hi",))
    assert (
        send(client, token, "POST", f"/inbox/conversations/{hidden.pk}/replies", {"text": "x"}).status_code
        == 404
    )
    assert not Message.objects.filter(conversation=hidden, direction="out").exists()
    assert AuditEntry.objects.filter(tool="inbox_reply", status=200).count() == 3


def test_assign_label_note_close_and_reopen(client, fleet, operator, outsider):
    mine, _, theirs, token = fleet
    mine.operators.add(operator)
    conversation = conversation_make(mine, title="Ann", peer_id=401, texts=("hi",))
    base = f"/inbox/conversations/{conversation.pk}"
    vip, lead = Label.objects.create(name="vip"), Label.objects.create(name="lead")

    assigned = send(client, token, "PUT", f"{base}/assignee", {"assignee": operator.pk})
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee"]["id"] == operator.pk
    assert send(client, token, "PUT", f"{base}/assignee", {"assignee": outsider.pk}).status_code == 400
    assert send(client, token, "PUT", f"{base}/assignee", {"assignee": None}).json()["assignee"] is None

    labelled = send(client, token, "PATCH", f"{base}/labels", {"add": [vip.pk, lead.pk]})
    assert {label["name"] for label in labelled.json()["labels"]} == {"vip", "lead"}
    trimmed = send(client, token, "PATCH", f"{base}/labels", {"remove": [lead.pk]})
    assert [label["name"] for label in trimmed.json()["labels"]] == ["vip"]
    assert send(client, token, "PATCH", f"{base}/labels", {"add": [10**12]}).status_code == 400
    assert get(client, token, "/inbox/labels").json()["labels"] == [
        {"id": lead.pk, "name": "lead"},
        {"id": vip.pk, "name": "vip"},
    ]

    noted = send(client, token, "POST", f"{base}/notes", {"text": "Wants a demo"})
    assert noted.status_code == 200 and Note.objects.get(pk=noted.json()["id"]).author is None
    assert send(client, token, "POST", f"{base}/notes", {"text": ""}).status_code == 400

    closed = send(client, token, "PUT", f"{base}/state", {"state": "closed"})
    assert closed.json()["state"] == "closed"
    assert send(client, token, "PUT", f"{base}/state", {"state": "snoozed"}).status_code == 400
    assert send(client, token, "PUT", f"{base}/state", {"state": "open"}).json()["state"] == "open"

    hidden = conversation_make(theirs, title="Eve", peer_id=402, texts=("hi",))
    for method, tail, body in (
        ("PUT", "assignee", {"assignee": None}),
        ("PATCH", "labels", {"add": [vip.pk]}),
        ("POST", "notes", {"text": "x"}),
        ("PUT", "state", {"state": "closed"}),
    ):
        answer = send(client, token, method, f"/inbox/conversations/{hidden.pk}/{tail}", body)
        assert answer.status_code == 404, (tail, answer.content)
    hidden.refresh_from_db()
    assert hidden.state == "open" and not hidden.labels.exists() and not hidden.notes.exists()


def test_inbox_scopes(client, make_account, make_key):
    account = make_account(status=Account.Status.ACTIVE)
    conversation = conversation_make(account, title="Ann", peer_id=501, texts=("hi",))
    _, reader = make_key([account], scopes=["fleet:read"])
    _, writer = make_key([account], scopes=["inbox:write"])
    assert get(client, reader, "/inbox/conversations").status_code == 200
    refused = send(client, reader, "POST", f"/inbox/conversations/{conversation.pk}/notes", {"text": "x"})
    assert refused.status_code == 403 and "inbox:write" in refused.json()["reason"]
    assert get(client, writer, "/inbox/conversations").status_code == 403
    closed = send(client, writer, "PUT", f"/inbox/conversations/{conversation.pk}/state", {"state": "closed"})
    assert closed.status_code == 200


# --- outreach -------------------------------------------------------------------------------------


def test_audiences_are_created_and_filled_with_rows_and_bad_rows_are_reported(client, fleet):
    _, _, _, token = fleet
    known = build.contacts(1, prefix="known")[0]
    created = send(client, token, "POST", "/outreach/audiences", {"name": "Leads", "require_username": True})
    assert created.status_code == 200, created.content
    audience = created.json()["id"]
    assert send(client, token, "POST", "/outreach/audiences", {"name": "Leads"}).status_code == 409
    for name in ("  ", "Le\x00ads"):
        assert send(client, token, "POST", "/outreach/audiences", {"name": name}).status_code == 400

    rows = [
        {"user_id": 7_100_000_001, "username": "fresh_lead", "first_name": "Fay"},
        {"username": known.username},
        {"username": "nobody_we_know"},
        {"phone": "not a phone"},
        {},
        {"user_id": 7_100_000_001},
    ]
    imported = send(client, token, "POST", f"/outreach/audiences/{audience}/rows", {"rows": rows})
    assert imported.status_code == 200, imported.content
    report = imported.json()
    assert report["added"] == 2 and report["known"] == 0
    assert [r["row"] for r in report["rejected"]] == [3, 4, 5]
    assert "not a known contact" in report["rejected"][0]["reason"]
    assert AudienceMember.objects.filter(audience_id=audience).count() == 2

    too_many = [{"user_id": 7_200_000_000 + n} for n in range(5_001)]
    assert (
        send(client, token, "POST", f"/outreach/audiences/{audience}/rows", {"rows": too_many}).status_code
        == 400
    )
    assert (
        send(client, token, "POST", "/outreach/audiences/999999999/rows", {"rows": rows}).status_code == 404
    )
    listed = get(client, token, "/outreach/audiences").json()["audiences"]
    assert {"id": audience, "name": "Leads", "size": 2}.items() <= next(
        a for a in listed if a["id"] == audience
    ).items()


def test_campaigns_from_spintax_with_the_key_s_senders_start_pause_and_report(client, fleet):
    mine, second, theirs, token = fleet
    people = build.contacts(3)
    audience = build.audience(people)
    body = {
        "name": "Spring",
        "template": "{Hi|Hello} {{first_name|there}}",
        "audience": audience.pk,
        "senders": [mine.pk, second.pk],
        "follow_ups": [{"after_seconds": 86_400, "template": "Still there?"}],
        "window_start": "08:00",
    }
    refused = send(client, token, "POST", "/outreach/campaigns", {**body, "senders": [mine.pk, theirs.pk]})
    assert refused.status_code == 404
    assert send(client, token, "POST", "/outreach/campaigns", {**body, "template": "{Hi|"}).status_code == 400
    assert (
        send(client, token, "POST", "/outreach/campaigns", {**body, "timezone": "Mars/Base"}).status_code
        == 400
    )
    for template in ("Hi\x00", "   "):
        assert (
            send(client, token, "POST", "/outreach/campaigns", {**body, "template": template}).status_code
            == 400
        )
    assert not Campaign.objects.exists()

    created = send(client, token, "POST", "/outreach/campaigns", body)
    assert created.status_code == 200, created.content
    campaign = created.json()
    assert campaign["state"] == "draft" and campaign["senders"] == sorted([mine.pk, second.pk])
    assert campaign["window_start"] == "08:00:00"
    path = f"/outreach/campaigns/{campaign['id']}"
    assert send(client, token, "POST", f"{path}/pause").status_code == 409

    started = send(client, token, "POST", f"{path}/start")
    assert started.status_code == 200 and started.json()["state"] == "running"
    assert started.json()["recipients"] == 3
    assert send(client, token, "POST", f"{path}/pause").json()["state"] == "paused"
    assert send(client, token, "POST", f"{path}/start").json()["state"] == "running"

    progress = get(client, token, path).json()
    assert progress["campaign"]["id"] == campaign["id"]
    assert progress["total"]["sent"] == 0 and progress["by_account"] == {}
    listed = get(client, token, "/outreach/campaigns").json()["campaigns"]
    assert [c["id"] for c in listed] == [campaign["id"]]

    foreign = build.campaign(audience, [mine, theirs])  # one sender outside the key's accounts
    for method, tail in (("GET", ""), ("POST", "/start"), ("POST", "/pause")):
        answer = client.generic(method, f"/api/v1/outreach/campaigns/{foreign.pk}{tail}", **bearer(token))
        assert answer.status_code == 404, (tail, answer.content)
    foreign.refresh_from_db()
    assert foreign.state == "draft"


def test_campaign_progress_per_account_and_variant(client, fleet):
    mine, _, _, token = fleet
    from outreach.models import Recipient, Send

    people = build.contacts(2)
    campaign = build.campaign(build.audience(people), [mine])
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    Account.objects.filter(pk=mine.pk).update(first_name=f"Ann{HIDDEN}")
    for n, (person, state) in enumerate(zip(people, ("sent", "failed"), strict=True)):
        recipient = Recipient.objects.create(campaign=campaign, contact=person, account=mine)
        Send.objects.create(
            campaign=campaign, recipient=recipient, account=mine, state=state, day=timezone.now().date(),
            due_at=timezone.now(), random_id=10_000 + n, text=f"Hi {person.first_name}", variant="Hi",
        )  # fmt: skip
    progress = get(client, token, f"/outreach/campaigns/{campaign.pk}").json()
    assert progress["total"]["sent"] == 1 and progress["total"]["failed"] == 1
    assert progress["by_account"] == {f"Ann (#{mine.pk})": progress["total"]}
    assert progress["by_variant"]["Hi"]["example"].startswith("Hi Lead")
    assert progress["why"] == [] and progress["next_send_at"] is not None  # all day, a sender: it sends
    Campaign.objects.filter(pk=campaign.pk).update(state="paused")
    progress = get(client, token, f"/outreach/campaigns/{campaign.pk}").json()
    assert progress["why"] == [{"code": "paused", "text": "Paused: nothing is sent until you resume it."}]


def test_scrape_jobs_start_for_the_key_s_account_report_progress_and_cancel(client, fleet, make_account):
    mine, _, theirs, token = fleet
    audience = Audience.objects.create(name="Members")
    started = send(
        client,
        token,
        "POST",
        f"/accounts/{mine.pk}/scrapes",
        {"target": "@rustaceans", "audience": audience.pk},
    )
    assert started.status_code == 200, started.content
    job = started.json()
    assert job["state"] == "running" and job["audience"] == audience.pk and job["account"] == mine.pk
    assert Operation.objects.filter(account=mine, command="scrape.page").count() == 1

    progress = get(client, token, f"/outreach/scrapes/{job['id']}").json()
    assert progress["pages"] == 0 and progress["percent"] == 0
    cancelled = send(client, token, "POST", f"/outreach/scrapes/{job['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"

    assert send(client, token, "POST", f"/accounts/{theirs.pk}/scrapes", {"target": "@x"}).status_code == 404
    assert send(client, token, "POST", f"/accounts/{mine.pk}/scrapes", {"target": "   "}).status_code == 400
    Account.objects.filter(pk=mine.pk).update(status=Account.Status.BANNED)
    banned = send(client, token, "POST", f"/accounts/{mine.pk}/scrapes", {"target": "@x"})
    assert banned.status_code == 409 and banned.json()["status"] == "banned"
    foreign = ScrapeJob.objects.create(account=theirs, target="@y", audience=audience)
    assert get(client, token, f"/outreach/scrapes/{foreign.pk}").status_code == 404
    assert send(client, token, "POST", f"/outreach/scrapes/{foreign.pk}/cancel").status_code == 404
    foreign.refresh_from_db()
    assert foreign.state == "running"


def test_outreach_needs_its_scope_even_to_read(client, make_account, make_key):
    account = make_account(status=Account.Status.ACTIVE)
    _, reader = make_key([account], scopes=["fleet:read", "inbox:write"])
    for path in ("/outreach/audiences", "/outreach/campaigns"):
        assert get(client, reader, path).status_code == 403


# --- through MCP, on the real web process ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_inbox_and_outreach_through_mcp(make_account, make_key, tmp_path):
    account = make_account(status=Account.Status.ACTIVE)
    conversation = conversation_make(account, title=f"Ann{HIDDEN}", peer_id=601, texts=("hi",))
    audience = build.audience(build.contacts(2))
    campaign = build.campaign(audience, [account])
    _, token = make_key([account])
    with web_server(log_path=tmp_path / "web.log") as url:
        seen = asyncio.run(_mcp_crm(url, token, conversation.pk, campaign.pk))
    assert seen["titles"] == ["Ann"]
    assert seen["reply"] == seen["again"]
    assert Message.objects.filter(conversation=conversation, direction="out").count() == 1
    assert seen["closed"] == "closed"
    assert seen["audience"] == "From MCP" and Audience.objects.filter(name="From MCP").exists()
    assert seen["progress"] == campaign.pk
    assert seen["missing"]["http_status"] == 404 and seen["missing_is_error"]
    assert set(AuditEntry.objects.filter(door="mcp").values_list("tool", flat=True)) == {
        "inbox_reply",
        "inbox_set_state",
        "audience_create",
    }


async def _mcp_crm(url: str, token: str, conversation_id: int, campaign_id: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        listed = await client.call_tool("inbox_conversations", {"state": "all"})
        reply = {"conversation": conversation_id, "text": "From an agent", "idempotency_key": "mcp-1"}
        first = await client.call_tool("inbox_reply", reply)
        again = await client.call_tool("inbox_reply", reply)
        closed = await client.call_tool(
            "inbox_set_state", {"conversation": conversation_id, "state": "closed"}
        )
        audience = await client.call_tool("audience_create", {"name": "From MCP"})
        progress = await client.call_tool("campaign_progress", {"campaign": campaign_id})
        missing = await client.call_tool("inbox_messages", {"conversation": conversation_id + 10_000})
    return {
        "titles": [c["title"] for c in listed.structured_content["conversations"]],
        "reply": first.structured_content["id"],
        "again": again.structured_content["id"],
        "closed": closed.structured_content["state"],
        "audience": audience.structured_content["name"],
        "progress": progress.structured_content["campaign"]["id"],
        "missing": json.loads(missing.content[0].text),
        "missing_is_error": missing.is_error,
    }


def test_a_lone_surrogate_in_any_text_is_a_plain_400_and_stores_nothing(client, fleet):
    # "\ud800" is valid JSON and decodes to a string no database (or Telegram) takes.
    mine, _, _, token = fleet
    conversation = conversation_make(mine, title="Ann", peer_id=302, texts=("hi",))
    for path, body in (
        (f"/inbox/conversations/{conversation.pk}/replies", {"text": "a\ud800b"}),
        (f"/inbox/conversations/{conversation.pk}/notes", {"text": "a\ud800b"}),
        ("/outreach/audiences", {"name": "Le\ud800ads"}),
    ):
        answer = send(client, token, "POST", path, body)
        assert answer.status_code == 400, (path, answer.status_code, answer.content)
    assert not Message.objects.filter(conversation=conversation, direction="out").exists()
