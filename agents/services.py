"""Writes of the agent hook: its settings and secret, and the handling of each admitted message.

``message_answer`` is the whole story of one message: decide whether to ask the hook at all, claim the
call (one per message, ever), ask, and send what it answers through the account's command path.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from agents import hook as hook_http
from agents import selectors
from agents.models import AgentHook, HookCall
from crm import vault
from crm.prune import delete_in_batches
from inbox.models import Conversation, Message
from inbox.services import reply_send

log = logging.getLogger(__name__)

HOOK_CALL_TASK = "agents.hook_call"  # agents.tasks.hook_call, which calls message_answer below
SECRET_BYTES = 24
# A CALLING row older than its timeout plus this was left by a worker that died mid-call.
STALE_AFTER = timedelta(seconds=60)


def secret_new() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class HookSettings:
    url: str
    enabled: bool
    timeout: int
    context_size: int
    per_peer_per_minute: int
    per_peer_per_hour: int


def hook_save(*, account: Account, values: HookSettings, by: Any) -> tuple[AgentHook, str | None]:
    """Create or change the account's agent hook. Returns the hook and, when it was created now, its
    new secret (shown once). Raises ValueError (plain words) for a URL we will not call; nothing is
    saved then."""
    url = values.url.strip()
    hook_http.check_url(url)
    fields = {**values.__dict__, "url": url, "updated_at": timezone.now()}
    with transaction.atomic():
        existing = AgentHook.objects.select_for_update().filter(account=account).first()
        if existing is not None:
            AgentHook.objects.filter(pk=existing.pk).update(**fields)
            existing.refresh_from_db()
            log.info("agent hook of account %s changed by %s", account.pk, getattr(by, "pk", None))
            return existing, None
        created = AgentHook.objects.create(account=account, secret_sealed=b"", **fields)
        secret = secret_new()
        created.seal_secret(secret)
        created.save(update_fields=["secret_sealed"])
    log.info("agent hook of account %s created by %s", account.pk, getattr(by, "pk", None))
    return created, secret


def hook_rotate_secret(*, hook: AgentHook, by: Any) -> str:
    """A new signing secret (returned once, to show once); the old one stops signing at once."""
    secret = secret_new()
    with transaction.atomic():
        locked = AgentHook.objects.select_for_update().get(pk=hook.pk)
        locked.secret_version += 1
        locked.seal_secret(secret)
        locked.updated_at = timezone.now()
        locked.save(update_fields=["secret_version", "secret_sealed", "updated_at"])
    log.info("agent hook secret of account %s rotated by %s", hook.account_id, getattr(by, "pk", None))
    hook.refresh_from_db()
    return secret


def hook_queue(*, message_id: int, account_id: int) -> None:
    """Automation admitted an inbound message: ask the account's hook about it, after commit, on the
    general worker. Accounts without an enabled hook cost one indexed query. Robust: a broker that
    cannot take the task is logged (that message goes unanswered) and never fails the judging."""
    if not AgentHook.objects.filter(account_id=account_id, enabled=True).exists():
        return
    transaction.on_commit(
        lambda: current_app.send_task(HOOK_CALL_TASK, kwargs={"message_id": message_id}), robust=True
    )


# --- one admitted message ----------------------------------------------------------------------------


def webhook_id_for(message_id: int) -> str:
    return f"msg_agent_{message_id}"


def random_id_for(webhook_id: str) -> int:
    """The reply's random_id, derived from the webhook id: however often the answer is handled, one
    message reaches Telegram (reply_send returns the reply already stored under it)."""
    digest = hashlib.sha256(f"switchboard.agent-hook.reply:{webhook_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def message_answer(*, message_id: int) -> HookCall | None:
    """Ask the hook about one admitted message and send its answer. Returns the delivery log row, or
    None when the hook was not asked (no hook, own message, paused, another fleet account, handled
    already)."""
    message = Message.objects.select_related("conversation__account", "sender").filter(pk=message_id).first()
    if message is None:
        return None
    conversation = message.conversation
    hook = AgentHook.objects.filter(account_id=conversation.account_id, enabled=True).first()
    if hook is None or skip_reason(message=message) is not None:
        return None
    call = _claim(hook=hook, message=message)
    if call is None or call.outcome != HookCall.Outcome.CALLING:
        return call
    started = time.monotonic()
    try:
        return _ask(call, started, hook=hook, message=message)
    except Exception:
        # Not asked again either way; the log says the call ended badly rather than "calling" forever.
        _finish(
            call,
            started,
            outcome=HookCall.Outcome.FAILED,
            reason="Switchboard failed while handling the call",
        )
        raise


def _ask(call: HookCall, started: float, *, hook: AgentHook, message: Message) -> HookCall:
    payload = selectors.event_payload(message=message, context_size=hook.context_size)
    try:
        answer = hook_http.post(
            url=hook.url,
            secret=_signing_secret(hook),
            webhook_id=call.webhook_id,
            payload=payload,
            timeout=hook.timeout,
        )
    except hook_http.CallFailed as failed:
        # Never called again, a timeout least of all: the hook may still act on this event.
        return _finish(call, started, outcome=failed.outcome, reason=failed.reason, status=failed.status_code)
    if answer.text is None:
        return _finish(call, started, outcome=HookCall.Outcome.NO_REPLY, status=answer.status_code)
    return _reply(call, started, conversation=message.conversation, answer=answer)


def _signing_secret(hook: AgentHook) -> str:
    try:
        return hook.secret()
    except vault.VaultError as error:
        key = getattr(error, "key_id", None)
        log.error("agent hook secret of account %s cannot be opened (master key id %s)", hook.account_id, key)
        raise hook_http.CallFailed(
            "The hook's signing secret cannot be opened (its master key is missing, or it was altered): "
            "rotate the secret"
        ) from None


def skip_reason(*, message: Message) -> str | None:
    """Why the hook is not asked about ``message`` at all, or None."""
    conversation = message.conversation
    if message.direction != Message.Direction.IN:
        return "the account's own message"
    if conversation.kind == Conversation.Kind.CHANNEL:
        return "a channel"
    if conversation.automation_paused:
        return "automation is paused in this conversation"
    peer = selectors.sender_id(message=message)
    if peer is not None and Account.objects.filter(telegram_id=peer).exists():
        # Two fleet accounts with hooks would answer each other forever.
        return "the sender is another account of this fleet"
    return None


def _claim(*, hook: AgentHook, message: Message) -> HookCall | None:
    """The CALLING row for this message, or a LIMITED row, or None when it was handled already.

    The hook row is locked while the windows are counted, so two messages of one peer handled at once
    cannot both pass the last free slot. In-flight calls count as replies."""
    webhook_id = webhook_id_for(message.pk)
    peer = selectors.sender_id(message=message)
    with transaction.atomic():
        AgentHook.objects.select_for_update().filter(pk=hook.pk).first()
        earlier = HookCall.objects.filter(webhook_id=webhook_id).first()
        if earlier is not None:
            _mark_interrupted(earlier, hook=hook)
            return None
        limited = _limit_reason(hook=hook, conversation_id=message.conversation_id, peer=peer)
        return HookCall.objects.create(
            hook=hook,
            webhook_id=webhook_id,
            conversation_id=message.conversation_id,
            message=message,
            peer_id=peer,
            outcome=HookCall.Outcome.LIMITED if limited else HookCall.Outcome.CALLING,
            reason=limited or "",
        )


def _limit_reason(*, hook: AgentHook, conversation_id: int, peer: int | None) -> str | None:
    now = timezone.now()
    counted = HookCall.objects.filter(
        outcome__in=[HookCall.Outcome.CALLING, HookCall.Outcome.REPLIED], event="message.received"
    )
    if peer is not None:
        of_peer = counted.filter(hook=hook, peer_id=peer)
        if of_peer.filter(started_at__gt=now - timedelta(minutes=1)).count() >= hook.per_peer_per_minute:
            return f"At most {_replies(hook.per_peer_per_minute)} a minute to this sender"
        if of_peer.filter(started_at__gt=now - timedelta(hours=1)).count() >= hook.per_peer_per_hour:
            return f"At most {_replies(hook.per_peer_per_hour)} an hour to this sender"
    cap = settings.AGENT_HOOK_CONVERSATION_MAX_PER_HOUR
    in_conversation = counted.filter(conversation_id=conversation_id, started_at__gt=now - timedelta(hours=1))
    if in_conversation.count() >= cap:
        return f"At most {_replies(cap)} an hour in one conversation"
    return None


def _replies(count: int) -> str:
    return f"{count} automated {'reply' if count == 1 else 'replies'}"


def _mark_interrupted(call: HookCall, *, hook: AgentHook) -> None:
    """A call still CALLING long past its timeout was cut off by a worker's death. It is not made
    again (the hook may have acted on it); the log says so."""
    if call.outcome != HookCall.Outcome.CALLING:
        return
    if call.started_at > timezone.now() - timedelta(seconds=hook.timeout) - STALE_AFTER:
        return  # maybe still under way in another worker
    HookCall.objects.filter(pk=call.pk, outcome=HookCall.Outcome.CALLING).update(
        outcome=HookCall.Outcome.INTERRUPTED,
        reason="The worker stopped during the call; not called again (the hook may have seen it)",
    )


def _reply(
    call: HookCall, started: float, *, conversation: Conversation, answer: hook_http.Answer
) -> HookCall:
    """Send the answer, unless an operator took the conversation over meanwhile. The reply and the log
    row commit together, so a task run again finds the row done and never sends a second reply."""
    assert answer.text is not None
    with transaction.atomic():
        current = Conversation.objects.select_for_update().select_related("account").get(pk=conversation.pk)
        if current.automation_paused:
            return _finish(
                call,
                started,
                outcome=HookCall.Outcome.NOT_SENT,
                reason="An operator took the conversation over during the call",
                status=answer.status_code,
            )
        if answer.reply_to is not None and not current.messages.filter(telegram_id=answer.reply_to).exists():
            return _finish(
                call,
                started,
                outcome=HookCall.Outcome.BAD_ANSWER,
                reason='"reply_to" names no message of this conversation',
                status=answer.status_code,
            )
        try:
            reply = reply_send(
                conversation=current,
                text=answer.text,
                by=None,
                reply_to=answer.reply_to,
                random_id=random_id_for(call.webhook_id),
                automation="agent",
            )
        except ValueError as refused:
            return _finish(
                call,
                started,
                outcome=HookCall.Outcome.NOT_SENT,
                reason=str(refused),
                status=answer.status_code,
            )
        return _finish(
            call, started, outcome=HookCall.Outcome.REPLIED, status=answer.status_code, reply=reply
        )


def _finish(
    call: HookCall,
    started: float,
    *,
    outcome: str,
    reason: str = "",
    status: int | None = None,
    reply: Message | None = None,
) -> HookCall:
    call.outcome = outcome
    call.reason = reason[:255]
    call.status_code = status
    call.duration_ms = min(int((time.monotonic() - started) * 1000), 2**31 - 1)
    call.reply = reply
    call.save(update_fields=["outcome", "reason", "status_code", "duration_ms", "reply"])
    return call


def calls_prune(*, older_than: timedelta, batch: int = 5000) -> int:
    """Forget delivery log rows older than ``older_than`` (far past every rate-limit window), in batches
    so no long lock is held. Returns how many were deleted."""
    cutoff = timezone.now() - older_than
    return delete_in_batches(HookCall.objects.filter(started_at__lt=cutoff), batch=batch)


# --- the console's "send test event" ------------------------------------------------------------------


def hook_test(*, hook: AgentHook, by: Any) -> HookCall:
    """Send a test event (type ``agent.test``) now and log what the hook answered; nothing is sent to
    Telegram whatever it answers."""
    call = HookCall.objects.create(
        hook=hook, webhook_id=f"msg_agent_test_{uuid.uuid4().hex}", event="agent.test"
    )
    started = time.monotonic()
    try:
        answer = hook_http.post(
            url=hook.url,
            secret=_signing_secret(hook),
            webhook_id=call.webhook_id,
            payload=selectors.test_payload(hook=hook),
            timeout=hook.timeout,
        )
    except hook_http.CallFailed as failed:
        return _finish(call, started, outcome=failed.outcome, reason=failed.reason, status=failed.status_code)
    if answer.text is None:
        return _finish(call, started, outcome=HookCall.Outcome.NO_REPLY, status=answer.status_code)
    shown = answer.text if len(answer.text) <= 120 else answer.text[:119] + "…"
    return _finish(
        call,
        started,
        outcome=HookCall.Outcome.NOT_SENT,
        reason=f"Test event, not sent. It would reply: {shown}",
        status=answer.status_code,
    )
