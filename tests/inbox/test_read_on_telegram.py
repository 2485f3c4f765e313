"""Opening or answering a conversation marks it read on Telegram too (the sender sees it read), once per
move of the read mark, unless the account keeps chats unread on Telegram; automated replies never do."""

from __future__ import annotations

import pytest

from accounts.models import Account, Operation
from inbox import services
from inbox.models import Conversation, Message
from tests.support.accounts import new_phone
from tests.support.inbox import agent, conversation_with
from tests.support.processes import session_host, wait_for


def _reads() -> list[Operation]:
    return list(Operation.objects.filter(command="inbox.read").order_by("queued_at"))


def _unread(account: Account, *telegram_ids: int) -> Conversation:
    conversation = Conversation.objects.create(
        account=account, peer_id=777, kind="private", title="Ivy", unread_count=len(telegram_ids)
    )
    for telegram_id in telegram_ids:
        Message.objects.create(conversation=conversation, telegram_id=telegram_id, direction="in", text="hi")
    return conversation


@pytest.mark.django_db(transaction=True)
def test_opening_marks_read_on_telegram_once_up_to_the_newest_inbound(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    conversation = _unread(account, 5, 9, 7)
    services.conversation_mark_read(conversation=conversation)
    services.conversation_mark_read(conversation=conversation)  # opened again: nothing new to read
    conversation.refresh_from_db()
    assert (conversation.unread_count, conversation.read_inbox_max_id) == (0, 9)
    [read] = _reads()
    assert read.account_id == account.pk and read.state == Operation.State.QUEUED

    Message.objects.create(conversation=conversation, telegram_id=12, direction="in", text="more")
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=1)
    conversation.refresh_from_db()
    services.conversation_mark_read(conversation=conversation)
    assert len(_reads()) == 2


@pytest.mark.django_db(transaction=True)
def test_an_account_that_keeps_chats_unread_on_telegram_only_clears_the_inbox(make_account):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(read_on_telegram=False)
    conversation = _unread(account, 3, 4)
    services.conversation_mark_read(conversation=conversation)
    conversation.refresh_from_db()
    assert (conversation.unread_count, conversation.read_inbox_max_id) == (0, 4)
    assert _reads() == []


@pytest.mark.django_db(transaction=True)
def test_answering_reads_the_chat_but_an_automated_reply_leaves_it_unread(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    by_hand = _unread(account, 3)
    services.reply_send(conversation=by_hand, text="On my way", by=operator)
    assert Conversation.objects.get(pk=by_hand.pk).unread_count == 0
    assert len(_reads()) == 1

    automated = Conversation.objects.create(account=account, peer_id=778, kind="private", unread_count=1)
    Message.objects.create(conversation=automated, telegram_id=8, direction="in", text="hello?")
    services.reply_send(conversation=automated, text="Passed on to the team.", by=None, automation="pairing")
    assert Conversation.objects.get(pk=automated.pk).unread_count == 1
    assert len(_reads()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_console_switch_says_what_it_does_and_refuses_nonsense(client, admin_user, make_account):
    account = make_account(status=Account.Status.ACTIVE)
    client.force_login(admin_user)
    url = f"/accounts/{account.pk}/read-on-telegram/"
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "marks it read on Telegram too" in page
    for bad in ("", "yes", "1\x00", "9" * 5000):
        answer = client.post(url, {"on": bad}).content.decode()
        assert "Choose to mark conversations read or not" in answer
    assert Account.objects.get(pk=account.pk).read_on_telegram
    client.post(url, {"on": "0"})
    assert not Account.objects.get(pk=account.pk).read_on_telegram
    assert "stay unread on Telegram" in client.get(f"/accounts/{account.pk}/").content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_sender_sees_their_messages_read_once_an_operator_opens_the_conversation(
    tgsim, host_env, api_app, operator, client, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    account.operators.add(operator)
    client.force_login(operator)
    ivy = tgsim.world_call("create_user", phone=new_phone(), first_name="Ivy")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        tgsim.world_call("say", ivy, to_user_id=me, text="Is it still available?")
        tgsim.world_call("say", ivy, to_user_id=me, text="I could come today")
        conversation = wait_for(lambda: conversation_with(account, ivy), timeout=15, what="the conversation")
        wait_for(lambda: conversation.messages.count() == 2, timeout=15, what="both messages")
        newest = conversation.messages.order_by("-telegram_id").first()
        assert tgsim.world_call("dialog_state", ivy, me)["read_outbox_max_id"] < newest.telegram_id
        assert tgsim.world_call("dialog_state", me, ivy)["unread_count"] == 2

        assert client.get(f"/inbox/c/{conversation.pk}/").status_code == 200
        wait_for(
            lambda: tgsim.world_call("dialog_state", ivy, me)["read_outbox_max_id"] == newest.telegram_id,
            timeout=30,
            what="Ivy to see her messages read",
        )
    assert tgsim.world_call("dialog_state", me, ivy)["unread_count"] == 0
    [read] = _reads()
    assert read.state == Operation.State.DONE and read.result == {"max_id": newest.telegram_id, "skipped": ""}
