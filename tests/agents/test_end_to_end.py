"""The agent hook end to end: a tgsim user writes to an account hosted by a real session host; a real
general worker judges the message by the account's policy (open), calls the local hook (signature
verified there), and the hook's answer reaches the tgsim user through the account's command path."""

from __future__ import annotations

import time

import pytest

from accounts.models import Account
from agents import services
from agents.models import HookCall
from agents.services import HookSettings
from automation.models import AutomationSettings
from inbox.models import Message
from inbox.services import conversation_set_automation
from tests.support.automation import judgement_of, texts_from
from tests.support.inbox import Persona, agent, conversation_with
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def open_account_with_hook(tgsim, api_app, hook_server, admin_user, *, first_name="Agent"):
    account, me, address = agent(tgsim, api_app, first_name=first_name)
    AutomationSettings.objects.create(account=account, dm_policy=AutomationSettings.DmPolicy.OPEN)
    values = HookSettings(
        url=hook_server.url,
        enabled=True,
        timeout=5,
        context_size=5,
        per_peer_per_minute=5,
        per_peer_per_hour=50,
    )
    _, secret = services.hook_save(account=account, values=values, by=admin_user)
    return account, me, address, secret


def connected(account, me):
    return Account.objects.filter(pk=account.pk, telegram_id=me).exists()


def judged(account, text):
    return wait_for(lambda: judgement_of(account, text), timeout=30, what=f"the judgement of {text!r}")


def test_a_message_through_the_open_policy_is_answered_by_the_hook_and_reaches_the_sender(
    tgsim, api_app, hook_server, hook_stack, admin_user, operator, tmp_path
):
    account, me, address, secret = open_account_with_hook(tgsim, api_app, hook_server, admin_user)
    hook_server.secret = secret
    hook_server.replying(lambda payload: f"You said: {payload['data']['message']['text']}")
    erin = Persona(tgsim, first_name="Erin")
    try:
        with hook_stack():
            wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
            erin.send(address, "Do you have a room for Friday?")
            wait_for(
                lambda: "You said: Do you have a room for Friday?" in texts_from(tgsim, erin.user_id, me),
                timeout=40,
                what="the agent's reply at the sender",
            )
            [received] = hook_server.received
            assert received.verified
            assert received.payload["data"]["message"]["sender"]["telegram_id"] == erin.user_id
            conversation = conversation_with(account, erin.user_id)
            reply = wait_for(
                lambda: conversation.messages.filter(automation="agent", delivery="sent").first(),
                timeout=20,
                what="the reply marked sent",
            )
            assert reply.telegram_id and reply.sent_by is None
            # The account's own update about the reply merged into it: one row, one message at the sender.
            assert conversation.messages.filter(text__startswith="You said:").count() == 1
            call = HookCall.objects.get(webhook_id=received.headers["webhook-id"])
            assert call.replied and call.reply == reply

            # Taken over: the next message is not sent to the hook at all.
            conversation_set_automation(conversation=conversation, paused=True, by=operator)
            erin.send(address, "Hello? A person, please")
            judged(account, "Hello? A person, please")
            time.sleep(2)
            assert len(hook_server.received) == 1

            conversation_set_automation(conversation=conversation, paused=False, by=operator)
            erin.send(address, "Thanks")
            wait_for(
                lambda: "You said: Thanks" in texts_from(tgsim, erin.user_id, me),
                timeout=40,
                what="the agent answering again after resume",
            )
            context = hook_server.received[-1].payload["data"]["context"]
            assert [m["text"] for m in context][-2:] == ["You said: Do you have a room for Friday?",
                                                         "Hello? A person, please"]  # fmt: skip
            assert context[-2]["automated"] is True and context[-2]["direction"] == "out"
        for log in ("worker.log", "host.log"):
            text = (tmp_path / log).read_text()
            assert "agents.hook_call" in text or log == "host.log"
            assert secret not in text and secret[6:] not in text
        sent = texts_from(tgsim, erin.user_id, me)
        assert (
            sent.count("You said: Do you have a room for Friday?") == 1
            and sent.count("You said: Thanks") == 1
        )
    finally:
        erin.close()


def test_two_fleet_accounts_with_hooks_that_always_answer_never_talk_to_each_other(
    tgsim, api_app, hook_server, hook_stack, admin_user
):
    ann, ann_id, ann_address, _ = open_account_with_hook(
        tgsim, api_app, hook_server, admin_user, first_name="Ann"
    )
    bob, bob_id, _, _ = open_account_with_hook(tgsim, api_app, hook_server, admin_user, first_name="Bob")
    hook_server.secret = ""  # two secrets: the test checks calls, not signatures, here
    hook_server.reply("Always happy to chat!")
    sam = Persona(tgsim, first_name="Sam")
    try:
        with hook_stack():
            wait_for(
                lambda: connected(ann, ann_id) and connected(bob, bob_id), timeout=40, what="both accounts"
            )
            # Bob writes to Ann (from Bob's own Telegram user): each sees the other's message.
            tgsim.world_call("say", bob_id, to_user_id=ann_id, text="Hi Ann, Bob here")
            judged(ann, "Hi Ann, Bob here")
            # A stranger writing to Ann is answered, so the hooks work in this very run.
            sam.send(ann_address, "Hi Ann")
            wait_for(
                lambda: "Always happy to chat!" in texts_from(tgsim, sam.user_id, ann_id),
                timeout=40,
                what="Ann's agent answering a stranger",
            )
            time.sleep(3)  # time for any ping-pong to start
        between = tgsim.world_call("messages_between", ann_id, bob_id)
        assert [m["text"] for m in between] == ["Hi Ann, Bob here"]
        assert len(hook_server.received) == 1
        assert not Message.objects.filter(conversation__account=bob, automation="agent").exists()
        assert HookCall.objects.filter(hook__account=ann).count() == 1
    finally:
        sam.close()


def test_a_slow_hook_and_a_spent_limit_send_nothing(tgsim, api_app, hook_server, hook_stack, admin_user):
    from agents.models import AgentHook

    account, me, address, secret = open_account_with_hook(tgsim, api_app, hook_server, admin_user)
    AgentHook.objects.filter(account=account).update(timeout=1, per_peer_per_minute=1)
    hook_server.secret = secret
    hook_server.answer = lambda payload: (200, b'{"text": "Sorry, I was thinking"}', 3.0)
    fay = Persona(tgsim, first_name="Fay")
    try:
        with hook_stack():
            wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
            fay.send(address, "Are you there?")
            timed_out = wait_for(
                lambda: HookCall.objects.filter(outcome="timed_out").first(), timeout=40, what="the timeout"
            )
            assert timed_out.reason == "The hook did not answer in time" and timed_out.duration_ms < 2500

            hook_server.reply("Yes, here now.")
            fay.send(address, "Hello again")
            wait_for(
                lambda: "Yes, here now." in texts_from(tgsim, fay.user_id, me),
                timeout=40,
                what="the answer within the limit",
            )
            fay.send(address, "And one more thing")
            limited = wait_for(
                lambda: HookCall.objects.filter(outcome="limited").first(), timeout=40, what="the limit"
            )
            assert limited.reason == "At most 1 automated reply a minute to this sender"
            time.sleep(3)  # the slow answer's 3 s have long passed too
        assert texts_from(tgsim, fay.user_id, me) == ["Yes, here now."]
        assert len(hook_server.received) == 2  # the limited message was never sent to the hook
        assert all(r.verified for r in hook_server.received)
    finally:
        fay.close()
