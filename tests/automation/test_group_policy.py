"""The group policy matrix on real group messages: personas write in a tgsim supergroup the account is
in; a real host ingests, a real worker judges. A reply to the account's message carries Telegram's
``mentioned`` flag (tgsim sets it as Telegram does), yet under "mention" it is no mention."""

from __future__ import annotations

import pytest
from telethon.tl import types

from accounts.models import Account
from automation.models import AutomationSettings
from inbox.models import Conversation, Message
from inbox.services import reply_send
from tests.support.automation import judgement_of
from tests.support.inbox import Persona, agent
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXPECTED = {
    "mention": {"mention", "by name"},
    "reply": {"reply"},
    "both": {"mention", "by name", "reply"},
    "off": set(),
}


def test_mention_reply_both_and_off_on_real_group_messages(tgsim, stack, api_app):
    account, me, address = agent(tgsim, api_app)
    name = address.removeprefix("@")
    bob, carol = Persona(tgsim, first_name="Bob"), Persona(tgsim, first_name="Carol")
    group = tgsim.world_call(
        "create_group", title="Flat hunters", owner_id=bob.user_id, members=[me, carol.user_id]
    )
    settings = AutomationSettings.objects.create(account=account)
    try:
        with stack():
            wait_for(
                lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                timeout=30,
                what="host",
            )
            carol_said = tgsim.world_call("say", carol.user_id, to_chat_id=group, text="rooms anyone?")
            conversation = wait_for(
                lambda: Conversation.objects.filter(account=account, kind="group").first(),
                timeout=20,
                what="group",
            )
            own = reply_send(conversation=conversation, text="I have one", by=None)
            own_id = wait_for(
                lambda: (
                    Message.objects.filter(pk=own.pk, delivery="sent")
                    .values_list("telegram_id", flat=True)
                    .first()
                ),
                timeout=20,
                what="the account's own group message",
            )
            chat = _entity(tgsim, bob, group)
            for policy, admitted in EXPECTED.items():
                AutomationSettings.objects.filter(pk=settings.pk).update(group_policy=policy)
                said = _say_everything(tgsim, bob, chat, policy=policy, name=name, me=me, own_id=own_id,
                                       carol_said=carol_said)  # fmt: skip
                verdicts = {
                    kind: wait_for(
                        lambda t=text: judgement_of(account, t), timeout=30, what=f"{policy}/{kind}"
                    )
                    for kind, text in said.items()
                }
                assert {kind for kind, v in verdicts.items() if v.admitted} == admitted, policy
                assert verdicts["reply"].reason == (
                    "reply"
                    if "reply" in admitted
                    else f"no {policy}"
                    if policy != "off"
                    else "group policy off"
                )
    finally:
        bob.close()
        carol.close()


def _entity(tgsim, persona, group):
    async def find():
        await persona.client.get_dialogs()
        return await persona.client.get_input_entity(types.PeerChannel(group))

    return tgsim.run(find())


def _say_everything(tgsim, bob, chat, *, policy, name, me, own_id, carol_said) -> dict[str, str]:
    """Bob writes one message of each kind; returns kind -> text."""
    client = bob.client
    plain = f"{policy}: anyone seen the flat?"
    mention = f"{policy}: 👋 @{name.upper()} is it free?"
    offset = len(mention[: mention.index("@")].encode("utf-16-le")) // 2
    other = f"{policy}: @{name}x is someone else"
    reply = f"{policy}: yes please"
    reply_other = f"{policy}: agreed, Carol"
    by_name = f"{policy}: Agent, answer"

    async def send():
        await client.send_message(chat, plain)
        await client.send_message(
            chat, mention, formatting_entities=[types.MessageEntityMention(offset, len(name) + 1)]
        )
        await client.send_message(
            chat, other, formatting_entities=[types.MessageEntityMention(len(policy) + 2, len(name) + 2)]
        )
        await client.send_message(chat, reply, reply_to=own_id)
        await client.send_message(chat, reply_other, reply_to=carol_said)
        await client.send_message(chat, f"{policy}: [Agent](tg://user?id={me}), answer", parse_mode="md")

    tgsim.run(send())
    return {"plain": plain, "mention": mention, "someone else": other, "reply": reply,
            "reply to another": reply_other, "by name": by_name}  # fmt: skip
