"""The agent hook page of the console, and take over / resume and the Agent badge in the inbox."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Account
from agents.models import AgentHook, HookCall
from inbox.models import Conversation, Message
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db

GOOD = {
    "url": "https://93.184.216.34/hook",
    "enabled": "on",
    "timeout": "10",
    "context_size": "20",
    "per_peer_per_minute": "3",
    "per_peer_per_hour": "30",
}
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


@pytest.fixture
def account(make_account):
    return make_account(status=Account.Status.ACTIVE)


def page(client, account):
    return reverse("agents:hook", args=[account.pk])


def test_only_admins_reach_the_hook_page(client, operator, account):
    client.force_login(operator)
    for url in (page(client, account), reverse("agents:log", args=[account.pk])):
        assert client.get(url).status_code == 403
    assert client.post(page(client, account), GOOD).status_code == 403
    assert client.post(reverse("agents:rotate", args=[account.pk])).status_code == 403
    assert client.post(reverse("agents:test", args=[account.pk])).status_code == 403
    assert not AgentHook.objects.exists()


def test_an_unknown_account_is_404(admin_client):
    assert admin_client.get(reverse("agents:hook", args=[999999])).status_code == 404
    assert admin_client.post(reverse("agents:rotate", args=[999999])).status_code == 404


def test_creating_the_hook_shows_its_secret_once(admin_client, account):
    created = admin_client.post(page(admin_client, account), GOOD)
    assert created.status_code == 200
    html = created.content.decode()
    [secret] = SECRET.findall(html)
    assert "shown only this once" in html and "no-store" in created["Cache-Control"]
    hook = AgentHook.objects.get(account=account)
    assert hook.secret() == secret and hook.enabled and hook.url == GOOD["url"]

    later = admin_client.get(page(admin_client, account)).content.decode()
    assert secret not in later and not SECRET.search(later)
    saved = admin_client.post(page(admin_client, account), {**GOOD, "timeout": "15"})
    assert saved.status_code == 302
    assert not SECRET.search(admin_client.get(saved["Location"]).content.decode())
    assert AgentHook.objects.get(pk=hook.pk).timeout == 15 and hook.secret() == secret


def test_rotating_shows_the_new_secret_once(admin_client, account):
    admin_client.post(page(admin_client, account), GOOD)
    old = AgentHook.objects.get().secret()
    rotated = admin_client.post(reverse("agents:rotate", args=[account.pk]))
    [new] = SECRET.findall(rotated.content.decode())
    assert new != old and AgentHook.objects.get().secret() == new
    assert "The old secret no longer signs anything" in rotated.content.decode()
    assert new not in admin_client.get(page(admin_client, account)).content.decode()
    assert admin_client.get(reverse("agents:rotate", args=[account.pk])).status_code == 405


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("url", "http://93.184.216.34/hook", "Only https:// URLs are allowed"),
        ("url", "https://127.0.0.1/hook", "non-public address (127.0.0.1)"),
        ("url", "https://10.1.2.3/hook", "non-public address"),
        ("url", "https://169.254.169.254/latest", "non-public address"),
        ("url", "https://[::1]/hook", "non-public address"),
        ("url", "https://exa\x00mple.com/", "Null characters are not allowed"),
        ("url", "javascript:alert(1)", "Only https:// URLs are allowed"),
        ("url", "", "Give the hook&#x27;s URL"),
        ("url", "https://" + "a" * 2000 + ".com/", "The URL is too long"),
        ("timeout", "31", "Timeout (seconds): at most 30"),
        ("timeout", "0", "Timeout (seconds): at least 1"),
        ("timeout", "99999999999999999999999", "Timeout (seconds): at most 30"),
        ("timeout", "1e308", "whole number"),
        ("timeout", "٣", "whole number"),
        ("timeout", "5\x00", "whole number"),
        ("context_size", "101", "at most 100"),
        ("context_size", "-1", "at least 0"),
        ("per_peer_per_minute", "0", "at least 1"),
        ("per_peer_per_hour", "1", "Allow at least as many replies an hour as a minute"),
        ("per_peer_per_hour", "601", "at most 600"),
    ],
)
def test_bad_input_gets_a_clear_error_and_saves_nothing(admin_client, account, field, value, error):
    answer = admin_client.post(page(admin_client, account), {**GOOD, field: value})
    assert answer.status_code == 200
    assert error in answer.content.decode()
    assert not AgentHook.objects.exists()


def test_bad_input_on_an_existing_hook_changes_nothing(admin_client, account):
    admin_client.post(page(admin_client, account), GOOD)
    answer = admin_client.post(page(admin_client, account), {**GOOD, "url": "http://93.184.216.34/x"})
    assert "Only https://" in answer.content.decode()
    assert AgentHook.objects.get().url == GOOD["url"]


def test_send_test_event_shows_the_result_and_logs_it(admin_client, account, hook_server):
    admin_client.post(page(admin_client, account), {**GOOD, "url": hook_server.url})
    hook_server.secret = AgentHook.objects.get().secret()
    hook_server.reply("Hello from the agent")
    answer = admin_client.post(reverse("agents:test", args=[account.pk]), HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert 'id="hook-log"' in html and 'id="test-result"' in html
    assert "It would reply: Hello from the agent" in html and "(200)" in html
    [received] = hook_server.received
    assert received.verified and received.payload["type"] == "agent.test"
    call = HookCall.objects.get()
    assert call.event == "agent.test" and not call.replied
    assert not Message.objects.filter(automation="agent").exists()
    assert hook_server.secret not in html


def test_the_log_pages_and_shows_each_outcome(admin_client, account, hook_server):
    admin_client.post(page(admin_client, account), {**GOOD, "url": hook_server.url})
    hook = AgentHook.objects.get()
    for n in range(55):
        HookCall.objects.create(hook=hook, webhook_id=f"msg_x_{n}", outcome="timed_out", reason="slow")
    first = admin_client.get(page(admin_client, account)).content.decode()
    assert first.count('id="call-') == 50 and "Timed out: slow" in first
    second = admin_client.get(reverse("agents:log", args=[account.pk]) + "?page=2", HTTP_HX_REQUEST="true")
    assert second.content.decode().count('id="call-') == 5
    assert admin_client.get(reverse("agents:log", args=[account.pk]) + "?page=%00").status_code == 200


# --- the inbox -----------------------------------------------------------------------------------------


@pytest.fixture
def conversation(account):
    return conversation_make(account, title="Erin", peer_id=8_100_001, texts=("Hi",))


def test_an_operator_takes_over_and_resumes(client, operator, account, conversation):
    account.operators.add(operator)
    client.force_login(operator)
    url = reverse("inbox:automation", args=[conversation.pk])
    pane = client.get(reverse("inbox:conversation", args=[conversation.pk]), HTTP_HX_REQUEST="true")
    assert "Take over" in pane.content.decode()

    header = client.post(url, {"action": "pause"}, HTTP_HX_REQUEST="true").content.decode()
    conversation.refresh_from_db()
    assert conversation.automation_paused and conversation.automation_paused_by == operator
    assert "Automation paused by you — the agent will not answer here." in header
    assert "Resume automation" in header

    header = client.post(url, {"action": "resume"}, HTTP_HX_REQUEST="true").content.decode()
    conversation.refresh_from_db()
    assert not conversation.automation_paused and conversation.automation_paused_by is None
    assert "Take over" in header and "Automation paused" not in header


def test_another_operator_sees_who_took_over(client, operator, admin_user, account, conversation):
    account.operators.add(operator)
    Conversation.objects.filter(pk=conversation.pk).update(
        automation_paused=True, automation_paused_by=admin_user
    )
    client.force_login(operator)
    pane = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "Automation paused by ada — the agent will not answer here." in pane


def test_an_outsider_cannot_take_over(client, outsider, conversation):
    client.force_login(outsider)
    answer = client.post(reverse("inbox:automation", args=[conversation.pk]), {"action": "pause"})
    assert answer.status_code == 404
    conversation.refresh_from_db()
    assert not conversation.automation_paused


def test_an_unknown_action_changes_nothing(admin_client, conversation):
    admin_client.post(reverse("inbox:automation", args=[conversation.pk]), {"action": "pause\x00"})
    conversation.refresh_from_db()
    assert not conversation.automation_paused


def test_automated_replies_wear_their_badge(admin_client, conversation):
    Message.objects.create(
        conversation=conversation, direction="out", text="From the agent", automation="agent"
    )
    Message.objects.create(conversation=conversation, direction="out", text="Passed on", automation="pairing")
    Message.objects.create(conversation=conversation, direction="out", text="From a person")
    html = admin_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert html.count('class="mark automated"') == 2
    assert ">Agent</span>" in html and ">Pairing</span>" in html
