"""Conversations with Telegram's service account (777000) stored before ingestion kept it out of the
inbox: their messages (login codes) move to the account's history with every digit masked, and the
conversations go, so operators can no longer read the fleet's login codes."""

from __future__ import annotations

from django.db import migrations

from accounts.telegram.records import SERVICE_USER_ID, masked


def service_conversations_to_account_history(apps, schema_editor):
    Conversation = apps.get_model("inbox", "Conversation")
    Message = apps.get_model("inbox", "Message")
    AccountEvent = apps.get_model("accounts", "AccountEvent")
    for conversation in Conversation.objects.filter(peer_id=SERVICE_USER_ID):
        received = Message.objects.filter(conversation=conversation, direction="in").exclude(telegram_id=None)
        for message in received:
            seen = AccountEvent.objects.filter(
                account_id=conversation.account_id,
                kind="service_notification",
                detail__telegram_id=message.telegram_id,
            )
            if not seen.exists():
                text = masked(message.text)
                AccountEvent.objects.create(
                    account_id=conversation.account_id,
                    at=message.date,
                    kind="service_notification",
                    reason=text.split("\n", 1)[0][:255],
                    detail={"telegram_id": message.telegram_id, "text": text},
                )
        conversation.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_operators"),
        ("inbox", "0004_drop_redundant_message_conversation_index"),
    ]

    operations = [migrations.RunPython(service_conversations_to_account_history, migrations.RunPython.noop)]
