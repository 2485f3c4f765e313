"""Pairing: an unknown sender asks, an admin approves or denies (in the console or the admin chat).

Every step is a row in PostgreSQL, so a restart of any process in the middle loses nothing. The partial
unique constraint on ``PairingRequest`` (one pending request per account and sender) is what stops a
second request, not this code's checks: two workers judging two messages of one sender at once both
reach ``create``, and the database refuses the second.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import commands, registry
from automation import signals
from automation.models import (
    APPROVED_TEXT,
    DENIED_TEXT,
    QUEUE_FULL_TEXT,
    AllowedSender,
    AutomationSettings,
    PairingRequest,
)
from inbox.models import Contact, Conversation, Message
from inbox.services import reply_send

log = logging.getLogger(__name__)

APPROVE = frozenset({"approve", "yes", "y"})
DENY = frozenset({"deny", "no", "n", "reject"})
QUOTED = 1000  # characters of the first message quoted in the admin chat

P = PairingRequest.Status


class NotPending(Exception):
    """The request was decided or expired already; the message says how."""


def pairing_ask(*, message: Message, settings: AutomationSettings) -> str:
    """An unknown sender wrote under the pairing policy: make their request (once), or say the queue is
    full. Runs inside the judging transaction; returns what happened, as the judgement's reason."""
    conversation = message.conversation
    sender = message.sender or conversation.contact
    assert sender is not None  # the policy never pairs a message without a person behind it
    # One pairing decision per account at a time, so the cap holds when several workers judge at once.
    AutomationSettings.objects.select_for_update().filter(pk=settings.pk).first()
    now = timezone.now()
    pairing_expire(account_id=settings.pk)
    earlier = PairingRequest.objects.filter(account_id=settings.pk, sender_id=sender.telegram_id)
    if earlier.filter(status=P.PENDING).exists():
        return "pairing pending"
    if earlier.filter(status=P.DENIED, decided_at__gt=now - settings.expiry).exists():
        return "pairing denied recently"
    pending = PairingRequest.objects.filter(account_id=settings.pk, status=P.PENDING)
    if pending.count() >= settings.pending_cap:
        _queue_full(conversation, sender, settings)
        return "pairing queue full"
    try:
        with transaction.atomic():
            request = PairingRequest.objects.create(
                account_id=settings.pk,
                sender_id=sender.telegram_id,
                username=sender.username,
                name=f"{sender.first_name} {sender.last_name}".strip()[:255],
                conversation=conversation,
                first_message=message,
                first_text=message.text,
                created_at=now,
                expires_at=now + settings.expiry,
            )
    except IntegrityError:
        return "pairing pending"  # the constraint: another message of theirs made it first
    reply_send(conversation=conversation, text=settings.pairing_text, by=None, automation="pairing")
    _announce(request, settings)
    signals.pairing_requested.send(sender=PairingRequest, request_id=request.pk, account_id=settings.pk)
    return "pairing requested"


def _queue_full(conversation: Conversation, sender: Contact, settings: AutomationSettings) -> None:
    """Tell the sender the queue is full, once per expiry period: a sender who keeps writing to a full
    queue is not answered on every message."""
    key = f"automation:queue-full:{settings.pk}:{sender.telegram_id}"
    if cache.add(key, 1, timeout=int(settings.expiry.total_seconds())):
        reply_send(conversation=conversation, text=QUEUE_FULL_TEXT, by=None, automation="pairing")


def _announce(request: PairingRequest, settings: AutomationSettings) -> None:
    """Post the request to the admin chat, if the account has one; the reply to that post decides it."""
    if not settings.admin_chat:
        return
    quoted = request.first_text[:QUOTED] + ("…" if len(request.first_text) > QUOTED else "")
    text = (
        f"Pairing request #{request.pk}: {request.who} (user id {request.sender_id})"
        f"{f', {request.name}' if request.name and request.username else ''} wrote:\n\n"
        f"{quoted or '(no text)'}\n\nReply approve or deny."
    )
    request.announce_operation = commands.send.queue(
        request.account_id, peer=_peer(settings.admin_chat), text=text, random_id=secrets.randbits(63)
    )
    request.save(update_fields=["announce_operation"])


def _peer(admin_chat: str) -> str | int:
    return int(admin_chat) if admin_chat.lstrip("-").isdigit() else admin_chat


def admin_reply(*, message: Message, settings: AutomationSettings) -> bool:
    """A message in the admin chat: when it replies to a pending request's announcement with approve /
    yes / y or deny / no / n / reject (any case), decide that request. Returns whether it did."""
    word = message.text.strip().lower()
    if message.reply_to_id is None or word not in APPROVE | DENY:
        return False
    request = _announced(account_id=settings.pk, telegram_id=message.reply_to_id)
    if request is None:
        return False
    sender = message.sender or (
        message.conversation.contact if message.conversation.kind == Conversation.Kind.PRIVATE else None
    )
    if sender is None or sender.telegram_id == request.sender_id:
        return False  # only a known person decides, and never the requester (present in the admin chat)
    try:
        who = message.sender_name or sender.display_name
        pairing_decide(request_id=request.pk, approve=word in APPROVE, in_chat_by=who)
    except NotPending:
        return False
    return True


def _announced(*, account_id: int, telegram_id: int) -> PairingRequest | None:
    """The pending request announced as this message of the admin chat. Announcements whose Telegram id
    is not recorded yet take it from their command's outcome first."""
    pending = PairingRequest.objects.filter(account_id=account_id, status=P.PENDING)
    unknown = pending.filter(announced_message_id__isnull=True, announce_operation__isnull=False)
    for request in unknown:
        found = registry.outcome(str(request.announce_operation))
        sent = (found.result or {}).get("message_id") if found is not None else None
        if isinstance(sent, int):
            PairingRequest.objects.filter(pk=request.pk).update(announced_message_id=sent)
    return pending.filter(announced_message_id=telegram_id).first()


def pairing_decide(*, request_id: int, approve: bool, by: Any = None, in_chat_by: str = "") -> PairingRequest:
    """Approve or deny a pending request (from the console: ``by``; from the admin chat: ``in_chat_by``).
    An approved sender is remembered on the allowlist. Both sides are told. NotPending if it was
    decided or expired before."""
    with transaction.atomic():
        # Only the request's row: a lock on its account too (select_related) would make every transaction
        # that checks a reference to the account at commit (ingestion's) wait for this one, which may
        # itself be waiting for that transaction's rows of the inbox: a deadlock.
        request = (
            PairingRequest.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=request_id)
        )
        now = timezone.now()
        if request.status == P.PENDING and request.expires_at <= now:
            _expire(PairingRequest.objects.filter(pk=request.pk), now)
            request.status = P.EXPIRED
        if request.status != P.PENDING:
            raise NotPending(f"This request is {request.get_status_display().lower()} already")
        request.status = P.APPROVED if approve else P.DENIED
        request.decided_at = now
        request.decided_by = by if getattr(by, "pk", None) else None
        request.decided_in_chat_by = in_chat_by[:255]
        request.save(update_fields=["status", "decided_at", "decided_by", "decided_in_chat_by"])
        if approve:
            _remember(request)
        _confirm(request)
    return request


def _remember(request: PairingRequest) -> None:
    try:
        with transaction.atomic():
            AllowedSender.objects.get_or_create(
                account_id=request.account_id,
                user_id=request.sender_id,
                defaults={
                    "source": AllowedSender.Source.PAIRED,
                    "added_by": request.decided_by,
                    "label": request.who,
                },
            )
    except IntegrityError:
        pass  # listed meanwhile by an admin: remembered either way


def _confirm(request: PairingRequest) -> None:
    approved = request.status == P.APPROVED
    if request.conversation is not None:
        reply_send(
            conversation=request.conversation,
            text=APPROVED_TEXT if approved else DENIED_TEXT,
            by=None,
            automation="pairing",
        )
    settings = AutomationSettings.objects.filter(pk=request.account_id).first()
    if settings is not None and settings.admin_chat:
        by = request.decided_by.get_username() if request.decided_by else ""
        text = f"{'Approved' if approved else 'Denied'} {request.who}"
        if by:
            text += f" (by {by} in the console)"
        commands.send.queue(
            request.account_id,
            peer=_peer(settings.admin_chat),
            text=text,
            random_id=secrets.randbits(63),
            reply_to=request.announced_message_id,
        )


def pairing_expire(*, account_id: int | None = None) -> int:
    """Expire pending requests past their time (of one account, or all); returns how many. A sender whose
    request expired gets a new one when they write again."""
    now = timezone.now()
    stale = PairingRequest.objects.filter(status=P.PENDING, expires_at__lte=now)
    if account_id is not None:
        stale = stale.filter(account_id=account_id)
    return _expire(stale, now)


def _expire(requests: Any, now: Any) -> int:
    return int(requests.update(status=P.EXPIRED, decided_at=now))
