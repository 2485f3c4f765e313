"""Applying the policies to received messages, and changing an account's automation settings.

``messages_judge`` runs on the general worker for each batch the inbox stored (never on the session
host's loop). Each inbound message is judged once: the ``Judgement`` row is inserted first, in the same
transaction as what the verdict causes (``message_admitted``, a pairing request and its reply), so a task
that runs twice (a redelivery after a worker died) causes nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from automation import pairing, selectors, signals
from automation.models import AllowedSender, AutomationSettings, Judgement
from automation.policy import IGNORE, PAIR, Rules, Verdict, decide
from crm.prune import delete_in_batches
from inbox.models import Message

log = logging.getLogger(__name__)

# Automation answers what is current: a message older than this when judged (an old chat brought in
# by the backfill after onboarding, a catch-up after a long outage) is stored but never answered.
MAX_AGE = timedelta(hours=1)


def messages_judge(*, message_ids: list[int]) -> int:
    """Judge these received messages by their accounts' policies; returns how many were admitted."""
    messages = (
        Message.objects.filter(pk__in=message_ids, direction=Message.Direction.IN)
        .select_related("conversation__account", "conversation__contact", "sender")
        .order_by("id")
    )
    known: dict[int, tuple[AutomationSettings, Rules] | None] = {}
    admitted = 0
    for message in messages:
        account_id = message.conversation.account_id
        if account_id not in known:
            found = selectors.settings_saved(account_id=account_id)
            known[account_id] = (found, selectors.rules_for(settings=found)) if found is not None else None
        if (rules := known[account_id]) is not None:  # automation is off until an admin sets it up
            admitted += _judge(message, *rules)
    return admitted


def _judge(message: Message, settings: AutomationSettings, rules: Rules) -> bool:
    with transaction.atomic():
        if not _claim(message):
            return False  # judged before: a redelivered or repeated task
        verdict = _verdict(message, settings, rules)
        if verdict.action == PAIR:
            verdict = Verdict(verdict.action, pairing.pairing_ask(message=message, settings=settings))
        Judgement.objects.filter(pk=message.pk).update(admitted=verdict.admitted, reason=verdict.reason[:40])
        if verdict.admitted:
            # Inside the claim's transaction: a receiver's rows (the agent hook's, say) commit with it.
            signals.message_admitted.send(
                sender=Judgement, message_id=message.pk, account_id=message.conversation.account_id
            )
    return verdict.admitted


def _claim(message: Message) -> bool:
    """Insert the message's judgement row; False if it has one. A task judging the same message at this
    moment holds the row: the insert waits for that task's commit and then inserts nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO automation_judgement (message_id, account_id, admitted, reason, at)
            VALUES (%s, %s, false, 'judging', now())
            ON CONFLICT (message_id) DO NOTHING RETURNING message_id
            """,
            [message.pk, message.conversation.account_id],
        )
        return cursor.fetchone() is not None


def _verdict(message: Message, settings: AutomationSettings, rules: Rules) -> Verdict:
    in_admin_chat = selectors.is_admin_chat(conversation=message.conversation, admin_chat=settings.admin_chat)
    if in_admin_chat and pairing.admin_reply(message=message, settings=settings):
        return Verdict(IGNORE, "pairing decision")
    if timezone.now() - message.date > MAX_AGE:
        return Verdict(IGNORE, "too old")
    verdict = decide(selectors.inbound_for(message=message), rules)
    if verdict.action == PAIR and in_admin_chat:
        return Verdict(IGNORE, "admin chat")  # the admin is no stranger to pair
    return verdict


def judgements_prune(*, batch: int = 10_000) -> int:
    """Forget judgements older than a day; returns how many. Their only lasting job is the claim, and a
    message that old is never answered again (MAX_AGE), whatever a late redelivery does."""
    cutoff = timezone.now() - max(MAX_AGE, timedelta(days=1))
    return delete_in_batches(Judgement.objects.filter(at__lt=cutoff), batch=batch)


# --- settings and allowlist (the console) ------------------------------------------------------------------


def settings_update(*, account_id: int, values: dict[str, Any]) -> AutomationSettings:
    """Save an account's policies, texts, admin chat, cap and expiry (already validated by the form)."""
    found = selectors.settings_for(account_id=account_id)
    fields = ["dm_policy", "group_policy", "pairing_text", "admin_chat", "pending_cap", "expiry_minutes"]
    for name in fields:
        setattr(found, name, values[name])
    found.updated_at = timezone.now()
    found.save(update_fields=[*fields, "updated_at"])
    return found


class AlreadyListed(Exception):
    pass


def allowlist_add(*, account_id: int, user_id: int | None, username: str, by: Any) -> AllowedSender:
    """List a sender (a user id or a username, without "@"); AlreadyListed if they are."""
    query = AllowedSender.objects.filter(account_id=account_id)
    if user_id is not None and query.filter(user_id=user_id).exists():
        raise AlreadyListed(f"{user_id} is already on the allowlist")
    if username and query.filter(username__iexact=username).exists():
        raise AlreadyListed(f"@{username} is already on the allowlist")
    try:
        with transaction.atomic():
            return AllowedSender.objects.create(
                account_id=account_id, user_id=user_id, username=username, added_by=by
            )
    except IntegrityError:
        raise AlreadyListed("Already on the allowlist") from None


def allowlist_remove(*, account_id: int, entry_id: int) -> bool:
    deleted, _ = AllowedSender.objects.filter(account_id=account_id, pk=entry_id).delete()
    return bool(deleted)
