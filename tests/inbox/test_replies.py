from __future__ import annotations

import pytest

from inbox import services
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent, conversation_with
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def delivery(message):
    message.refresh_from_db()
    return message.delivery


def test_a_reply_goes_from_pending_to_sent_and_reaches_the_persona_once(
    tgsim, host_env, api_app, operator, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    erin = tgsim.world_call("create_user", phone=new_phone(), first_name="Erin")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        tgsim.world_call("say", erin, to_user_id=me, text="How much is it?")
        conversation = wait_for(lambda: conversation_with(account, erin), timeout=15, what="the conversation")

        reply = services.reply_send(conversation=conversation, text="It is 1,200 a month.", by=operator)
        assert reply.delivery == Message.Delivery.PENDING and reply.random_id
        wait_for(lambda: delivery(reply) == Message.Delivery.SENT, timeout=30, what="the reply to be sent")

    reply.refresh_from_db()
    assert reply.telegram_id and reply.sent_by == operator
    # The account's own update about the sent message merged into the reply, not a second row.
    assert conversation.messages.filter(text="It is 1,200 a month.").count() == 1
    received = [m["text"] for m in tgsim.world_call("messages_between", erin, me)]
    assert received.count("It is 1,200 a month.") == 1


def test_a_reply_refused_by_telegram_fails_with_a_plain_reason_and_can_be_retried(
    tgsim, host_env, api_app, operator, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    frank = tgsim.world_call("create_user", phone=new_phone(), first_name="Frank")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        tgsim.world_call("say", frank, to_user_id=me, text="Ping")
        conversation = wait_for(
            lambda: conversation_with(account, frank), timeout=15, what="the conversation"
        )

        tgsim.fault("inject", "USER_IS_BLOCKED", user_id=me, method="messages.sendMessage")
        reply = services.reply_send(conversation=conversation, text="Pong", by=operator)
        wait_for(lambda: delivery(reply) == Message.Delivery.FAILED, timeout=30, what="the reply to fail")
        reply.refresh_from_db()
        assert reply.failure_reason == "The recipient blocked this account"

        services.reply_retry(message=reply, by=operator)
        wait_for(lambda: delivery(reply) == Message.Delivery.SENT, timeout=30, what="the retry to be sent")
    assert [m["text"] for m in tgsim.world_call("messages_between", frank, me)].count("Pong") == 1


def test_a_reply_held_by_a_flood_wait_says_when_it_will_go_and_then_goes(
    tgsim, host_env, api_app, operator, client, tmp_path
):
    from django.urls import reverse

    from accounts.models import Account

    account, me, _ = agent(tgsim, api_app)
    account.operators.add(operator)
    client.force_login(operator)
    gina = tgsim.world_call("create_user", phone=new_phone(), first_name="Gina")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        tgsim.world_call("say", gina, to_user_id=me, text="Still there?")
        conversation = wait_for(lambda: conversation_with(account, gina), timeout=15, what="the conversation")

        # Longer than FLOOD_SLEEP_THRESHOLD (3 s in tests): the account cools down, the reply waits.
        tgsim.fault("inject", "FLOOD_WAIT_6", user_id=me, method="messages.sendMessage")
        reply = services.reply_send(conversation=conversation, text="Yes!", by=operator)
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, status=Account.Status.COOLDOWN).exists(),
            timeout=30,
            what="the cooldown",
        )
        pane = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
        assert "queued — sending in " in pane
        assert delivery(reply) == Message.Delivery.PENDING
        wait_for(
            lambda: delivery(reply) == Message.Delivery.SENT, timeout=60, what="the reply after the wait"
        )
    assert [m["text"] for m in tgsim.world_call("messages_between", gina, me)].count("Yes!") == 1


def test_what_the_account_sends_from_another_device_shows_up_as_sent(tgsim, host_env, api_app, tmp_path):
    account, me, _ = agent(tgsim, api_app)
    hugo = tgsim.world_call("create_user", phone=new_phone(), first_name="Hugo", username=f"hugo{me}")
    phone = account.phone
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        # The same Telegram user on a second device (its own authorization).
        phone_app = tgsim.client()

        async def send_from_phone() -> None:
            await phone_app.connect()
            await phone_app.send_code_request(phone)
            await phone_app.sign_in(phone, "22222")
            await phone_app.send_message(f"@hugo{me}", "Sent from my phone")
            await phone_app.disconnect()

        tgsim.run(send_from_phone())
        message = wait_for(
            lambda: Message.objects.filter(conversation__account=account, text="Sent from my phone").first(),
            timeout=15,
            what="the message sent from the other device",
        )
    assert message.direction == Message.Direction.OUT and message.delivery == Message.Delivery.SENT
    assert message.conversation.peer_id == hugo and message.conversation.unread_count == 0
