from __future__ import annotations

import pytest
from telethon import types

from inbox.models import Contact, Conversation, Message
from tests.support.accounts import new_phone
from tests.support.inbox import Persona, agent, persona_send_file, texts, unique
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_messages_with_nul_characters_anywhere_are_stored_cleaned_once_and_nothing_around_them_is_lost(
    tgsim, host_env, api_app, tmp_path
):
    account, me, address = agent(tgsim, api_app)
    eve = Persona(tgsim, first_name="Ev\x00e", username=unique("eve"))
    bob = tgsim.world_call("create_user", phone=new_phone(), first_name="Bob")
    group = tgsim.world_call("create_group", title="Elm\x00 buyers", owner_id=bob, members=[me])
    link = types.MessageEntityTextUrl(offset=4, length=4, url="https://flats.test/\x00elm")
    log_path = tmp_path / "host.log"
    try:
        with session_host("a", log_path=log_path, env=host_env):
            wait_for(
                lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=60, what="backfill"
            )
            eve.send(address, "before")
            eve.send(address, "te\x00xt")
            tgsim.run(eve.client.send_message(address, "see here", formatting_entities=[link]))
            persona_send_file(eve, address, b"floor plan", name="pl\x00an.txt")
            tgsim.world_call("say", bob, to_chat_id=group, text="in the gr\x00oup")
            eve.send(address, "after")
            wait_for(
                lambda: len(texts(account, eve.user_id)) == 5 and "after" in texts(account, eve.user_id),
                timeout=60,
                what="all five private messages",
            )
            wait_for(
                lambda: Message.objects.filter(conversation__account=account, text="in the group").exists(),
                timeout=30,
                what="the group message",
            )
    finally:
        eve.close()

    assert texts(account, eve.user_id) == ["before", "text", "see here", "", "after"]
    private = Conversation.objects.get(account=account, peer_id=eve.user_id)
    assert private.title == "Eve"
    assert Contact.objects.get(telegram_id=eve.user_id).first_name == "Eve"
    linked = private.messages.get(text="see here")
    assert linked.entities == [{"type": "texturl", "offset": 4, "length": 4, "url": "https://flats.test/elm"}]
    assert private.messages.get(media_kind="document").media["name"] == "plan.txt"
    grouped = Message.objects.get(conversation__account=account, text="in the group")
    assert grouped.conversation.title == "Elm buyers" and grouped.sender_name == "Bob"
    # Each stored once, and never by the item-by-item fallback that skips what PostgreSQL refuses.
    assert Message.objects.filter(conversation__account=account).count() == 6
    assert "item by item" not in log_path.read_text()
