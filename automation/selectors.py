"""Reading automation state: an account's settings and rules, how policies see a message, pairing lists."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Operation
from automation.models import AllowedSender, AutomationSettings, PairingRequest
from automation.policy import Inbound, Rules, normal_username
from inbox.models import Conversation, Message

RECENT = 20


def settings_for(*, account_id: int) -> AutomationSettings:
    """The account's automation settings, created with the defaults the first time they are needed."""
    found, _ = AutomationSettings.objects.get_or_create(account_id=account_id)
    return found


def settings_saved(*, account_id: int) -> AutomationSettings | None:
    """The account's automation settings if an admin has set them (saved policies, an allowlist entry):
    until then automation leaves the account alone (no judging, no pairing replies)."""
    return AutomationSettings.objects.filter(account_id=account_id).first()


def rules_for(*, settings: AutomationSettings) -> Rules:
    account = settings.account
    allowed = list(AllowedSender.objects.filter(account_id=account.pk).values_list("user_id", "username"))
    return Rules(
        own_id=account.telegram_id,
        own_username=account.username,
        dm_policy=settings.dm_policy,
        group_policy=settings.group_policy,
        allowed_ids=frozenset(uid for uid, _ in allowed if uid is not None),
        allowed_usernames=Rules.usernames(name for _, name in allowed if name),
    )


def inbound_for(*, message: Message) -> Inbound:
    """How the policies see a stored message. A private chat's messages come from its contact."""
    conversation = message.conversation
    sender = message.sender
    if sender is None and conversation.kind == Conversation.Kind.PRIVATE:
        sender = conversation.contact
    return Inbound(
        kind=conversation.kind,
        sender_id=sender.telegram_id if sender else None,
        sender_username=sender.username if sender else "",
        text=message.text,
        entities=message.entities if isinstance(message.entities, list) else [],
        replies_to_own=_replies_to_own(message),
        contacted=conversation.kind == Conversation.Kind.PRIVATE and _contacted(message),
        outgoing=message.direction == Message.Direction.OUT,
        paused=conversation.automation_paused,
    )


def _replies_to_own(message: Message) -> bool:
    if message.reply_to_id is None:
        return False
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        telegram_id=message.reply_to_id,
        direction=Message.Direction.OUT,
    ).exists()


def _contacted(message: Message) -> bool:
    """Whether the account wrote in this conversation before this message (pairing's own replies and
    messages that never went out do not count)."""
    return (
        Message.objects.filter(conversation_id=message.conversation_id, direction=Message.Direction.OUT)
        .exclude(automation="pairing")
        .exclude(delivery=Message.Delivery.FAILED)
        .filter(date__lt=message.date)
        .exists()
    )


def is_admin_chat(*, conversation: Conversation, admin_chat: str) -> bool:
    """Whether the conversation is the admin chat as configured: by marked id, or by @username."""
    if not admin_chat:
        return False
    if admin_chat.lstrip("-").isdigit():
        return conversation.peer_id == int(admin_chat)
    return bool(conversation.username) and normal_username(conversation.username) == normal_username(
        admin_chat
    )


def allowlist(*, account_id: int) -> QuerySet[AllowedSender]:
    return AllowedSender.objects.filter(account_id=account_id).order_by("-created_at", "-id")


def pairing_pending(*, account_id: int | None = None, limit: int = 200) -> list[PairingRequest]:
    """Pending requests, oldest first (of one account, or of the whole fleet), each with
    ``announcement``: where its post to the admin chat stands, in words."""
    found = PairingRequest.objects.filter(status=PairingRequest.Status.PENDING).select_related("account")
    if account_id is not None:
        found = found.filter(account_id=account_id)
    requests = list(found.order_by("created_at", "id")[:limit])
    operations = {
        str(op.pk): op
        for op in Operation.objects.filter(
            pk__in=[r.announce_operation for r in requests if r.announce_operation]
        )
    }
    for request in requests:
        request.announcement = _announcement(request, operations.get(str(request.announce_operation)))
    return requests


def _announcement(request: PairingRequest, operation: Operation | None) -> str:
    if request.announce_operation is None:
        return "no admin chat"
    if operation is None or operation.state == Operation.State.DONE:
        return "posted"
    if operation.state == Operation.State.FAILED:
        return f"posting failed: {operation.reason or operation.error}"
    if operation.state == Operation.State.WAITING:
        return f"waiting to post ({operation.wait_reason or 'later'})"
    return "waiting for the account's session host"


def pairing_decided(*, account_id: int | None = None, limit: int = RECENT) -> list[PairingRequest]:
    found = PairingRequest.objects.exclude(status=PairingRequest.Status.PENDING).select_related(
        "account", "decided_by"
    )
    if account_id is not None:
        found = found.filter(account_id=account_id)
    return list(found.order_by("-decided_at", "-id")[:limit])
