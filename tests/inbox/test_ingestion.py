from __future__ import annotations

import pytest

from accounts.models import Account
from inbox.models import Contact, Conversation, Message
from tests.support.inbox import Persona, agent, conversation_with, texts
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def connected(account, me):
    return Account.objects.filter(pk=account.pk, telegram_id=me).exists()


def test_private_messages_edits_deletes_and_read_receipts_reach_the_inbox(tgsim, host_env, api_app, tmp_path):
    account, me, address = agent(tgsim, api_app)
    alice = Persona(tgsim, first_name="Alice")
    try:
        with session_host("a", log_path=tmp_path / "host.log", env=host_env):
            wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
            first = alice.send(address, "Hi, is the flat still available?")
            wait_for(
                lambda: "Hi, is the flat still available?" in texts(account, alice.user_id),
                timeout=15,
                what="the private message",
            )
            alice.send(address, "Second question")
            wait_for(lambda: len(texts(account, alice.user_id)) == 2, timeout=15, what="the second message")

            alice.edit(address, first, "Hi, is the flat on Elm Street still available?")
            wait_for(
                lambda: Message.objects.filter(
                    conversation__account=account, telegram_id__isnull=False, edited_at__isnull=False
                ).exists(),
                timeout=15,
                what="the edit",
            )
            alice.delete(address, [first])
            wait_for(
                lambda: Message.objects.filter(conversation__account=account, deleted=True).exists(),
                timeout=15,
                what="the deletion",
            )
    finally:
        alice.close()

    conversation = conversation_with(account, alice.user_id)
    assert conversation.kind == Conversation.Kind.PRIVATE
    assert conversation.title == "Alice"
    assert conversation.contact == Contact.objects.get(telegram_id=alice.user_id)
    assert conversation.unread_count == 1  # the deleted message no longer counts
    assert conversation.last_message_preview == "Second question"
    edited = conversation.messages.get(deleted=True)
    assert edited.text == "Hi, is the flat on Elm Street still available?"
    assert edited.direction == Message.Direction.IN
    assert conversation.messages.count() == 2
    assert account.contact_hashes.filter(contact__telegram_id=alice.user_id).exists()


def test_group_messages_carry_their_senders_and_are_stored_once(tgsim, host_env, api_app, tmp_path):
    account, me, _ = agent(tgsim, api_app)
    bob = tgsim.world_call("create_user", phone=_phone(), first_name="Bob", last_name="Buyer")
    carol = tgsim.world_call("create_user", phone=_phone(), first_name="Carol")
    group = tgsim.world_call("create_group", title="Elm Street buyers", owner_id=bob, members=[me, carol])
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
        # Let the host finish its first connection (and backfill) before the live messages.
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
        tgsim.world_call("say", bob, to_chat_id=group, text="Who has seen the flat?")
        tgsim.world_call("say", carol, to_chat_id=group, text="I did, on Monday")
        wait_for(
            lambda: Message.objects.filter(conversation__account=account, text="I did, on Monday").exists(),
            timeout=15,
            what="the group messages",
        )
    conversation = Conversation.objects.get(account=account, kind=Conversation.Kind.GROUP)
    assert conversation.title == "Elm Street buyers"
    history = list(conversation.messages.order_by("date", "id").values_list("sender_name", "text"))
    assert history[-2:] == [("Bob Buyer", "Who has seen the flat?"), ("Carol", "I did, on Monday")]
    assert conversation.messages.filter(text="I did, on Monday").count() == 1


def _phone():
    from tests.support.accounts import new_phone

    return new_phone()


def test_after_onboarding_the_backfill_brings_the_dialogs_and_their_recent_messages(
    tgsim, host_env, api_app, tmp_path
):
    account, me, _ = agent(tgsim, api_app)
    kim = tgsim.world_call("create_user", phone=_phone(), first_name="Kim")
    for n in range(3):
        tgsim.world_call("say", kim, to_user_id=me, text=f"written before Switchboard knew #{n}")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill")
    conversation = conversation_with(account, kim)
    assert texts(account, kim) == [f"written before Switchboard knew #{n}" for n in range(3)]
    assert conversation.unread_count == 3 and conversation.title == "Kim"
    assert account.events.get(kind="inbox_backfilled").reason == "1 dialogs, 3 messages"
