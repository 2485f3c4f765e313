"""Where events come from: the signals of the apps below, each sent inside the transaction of its change,
turned into event rows (webhooks.events) in that same transaction. Payloads are small and carry no
secrets: ids, statuses, reasons, and for messages the text and who wrote it.

Outbound messages are reported from the outcome of the commands that send them (the one place every
send ends, accounts.registry.command_finished): an inbox reply, the API's sends and a campaign's.
Messages an account sent from another app or device reach the inbox through ingestion, and are not
reported as ``message.sent``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from accounts import signals as account_signals
from accounts.models import Operation
from accounts.registry import command_finished
from automation import signals as automation_signals
from automation.models import PairingRequest
from inbox import signals as inbox_signals
from inbox.models import Message
from outreach import signals as outreach_signals
from outreach.models import Campaign, ScrapeJob
from webhooks.events import NewEvent, events_record
from webhooks.models import Endpoint

# The commands that send a message: their outcome is message.sent or message.failed.
SENDING_COMMANDS = frozenset(
    {"inbox.reply", "messages.send", "messages.send_file", "messages.forward", "outreach.send"}
)


def connect() -> None:
    inbox_signals.messages_stored.connect(on_messages_stored, dispatch_uid="webhooks.messages_stored")
    account_signals.status_changed.connect(on_status_changed, dispatch_uid="webhooks.status_changed")
    account_signals.flood_waited.connect(on_flood_waited, dispatch_uid="webhooks.flood_waited")
    command_finished.connect(on_command_finished, dispatch_uid="webhooks.command_finished")
    outreach_signals.campaign_finished.connect(
        on_campaign_finished, dispatch_uid="webhooks.campaign_finished"
    )
    outreach_signals.campaign_paused.connect(on_campaign_paused, dispatch_uid="webhooks.campaign_paused")
    outreach_signals.scrape_finished.connect(on_scrape_finished, dispatch_uid="webhooks.scrape_finished")
    automation_signals.pairing_requested.connect(on_pairing_requested, dispatch_uid="webhooks.pairing")


def _listening() -> list[Endpoint]:
    """The enabled endpoints; when there are none, receivers skip building payloads altogether."""
    return list(Endpoint.objects.filter(enabled=True))


def _at(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# --- messages ------------------------------------------------------------------------------------


def on_messages_stored(
    sender: Any,
    *,
    received: list[int] = (),  # type: ignore[assignment]
    edited: list[int] = (),  # type: ignore[assignment]
    deleted: list[int] = (),  # type: ignore[assignment]
    **_: Any,
) -> None:
    if not (received or edited or deleted) or not (endpoints := _listening()):
        return
    kinds = [("message.received", received), ("message.edited", edited), ("message.deleted", deleted)]
    ids = {pk for _, group in kinds for pk in group}
    # Plain values, not model instances: this runs in the ingestion transaction of every batch.
    found = {row["id"]: row for row in Message.objects.filter(pk__in=ids).values(*MESSAGE_FIELDS)}
    events = [
        NewEvent(
            type=kind,
            account_id=found[pk]["conversation__account_id"],
            payload=message_payload(found[pk], kind),
        )
        for kind, group in kinds
        for pk in group
        if pk in found
    ]
    events_record(events, endpoints=endpoints)


MESSAGE_FIELDS = (
    "id", "telegram_id", "direction", "text", "media_kind", "reply_to_id", "date", "edited_at",
    "conversation_id", "conversation__account_id", "conversation__peer_id", "conversation__kind",
    "conversation__title", "conversation__username",
    "sender__telegram_id", "sender__username", "sender__first_name", "sender__last_name",
)  # fmt: skip


def message_payload(row: dict[str, Any], kind: str) -> dict[str, Any]:
    """A message event's data, from a row of MESSAGE_FIELDS."""
    payload: dict[str, Any] = {
        "message_id": row["id"],
        "account_id": row["conversation__account_id"],
        "conversation_id": row["conversation_id"],
        "chat": {
            "peer_id": row["conversation__peer_id"],
            "kind": row["conversation__kind"],
            "title": row["conversation__title"],
            "username": row["conversation__username"],
        },
        "telegram_id": row["telegram_id"],
    }
    if kind == "message.deleted":
        return payload
    sender = None
    if row["sender__telegram_id"] is not None:
        name = f"{row['sender__first_name']} {row['sender__last_name']}".strip()
        username = row["sender__username"]
        sender = {
            "telegram_id": row["sender__telegram_id"],
            "username": username,
            "name": name or (f"@{username}" if username else str(row["sender__telegram_id"])),
        }
    payload.update(
        direction=row["direction"],
        sender=sender,
        text=row["text"],
        media_kind=row["media_kind"],
        reply_to_id=row["reply_to_id"],
        date=_at(row["date"]),
        edited_at=_at(row["edited_at"]),
    )
    return payload


def on_command_finished(sender: Any, *, operation: Operation, **_: Any) -> None:
    """A send's outcome: done is message.sent, failed for good is message.failed (a wait is neither:
    the command runs again by itself)."""
    if operation.command not in SENDING_COMMANDS or operation.state == Operation.State.WAITING:
        return
    if operation.state == Operation.State.QUEUED or not (endpoints := _listening()):
        return
    payload: dict[str, Any] = {
        "operation_id": str(operation.pk),
        "command": operation.command,
        "account_id": operation.account_id,
    }
    if operation.state == Operation.State.DONE:
        result = operation.result or {}
        if result.get("skipped"):
            return  # nothing was sent (no longer pending, or another account's send by now)
        ids = result.get("message_ids") or [result.get("message_id")]
        event = NewEvent(
            type="message.sent",
            account_id=operation.account_id,
            payload={**payload, "telegram_ids": [i for i in ids if i is not None]},
        )
    else:
        event = NewEvent(
            type="message.failed",
            account_id=operation.account_id,
            payload={
                **payload,
                "reason": operation.reason,
                "error": operation.error,
                "code": operation.code,
                "account_status": operation.status,
            },
        )
    events_record([event], endpoints=endpoints)


# --- accounts ------------------------------------------------------------------------------------


def on_status_changed(
    sender: Any,
    *,
    account_id: int,
    from_status: str,
    to_status: str,
    reason: str,
    cooldown_until: datetime | None = None,
    **_: Any,
) -> None:
    if not (endpoints := _listening()):
        return
    payload: dict[str, Any] = {
        "account_id": account_id,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
    }
    if cooldown_until is not None:
        payload["cooldown_until"] = _at(cooldown_until)
        payload["cooldown_seconds"] = max(0, round((cooldown_until - timezone.now()).total_seconds()))
    events_record(
        [NewEvent(type="account.status_changed", account_id=account_id, payload=payload)], endpoints=endpoints
    )


def on_flood_waited(sender: Any, *, account_id: int, seconds: int, reason: str, **_: Any) -> None:
    if not (endpoints := _listening()):
        return
    payload = {"account_id": account_id, "seconds": seconds, "reason": reason}
    events_record(
        [NewEvent(type="account.flood_wait", account_id=account_id, payload=payload)], endpoints=endpoints
    )


# --- outreach ------------------------------------------------------------------------------------


def _campaign_payload(campaign_id: int) -> dict[str, Any] | None:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    counts = dict(campaign.recipients.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {"campaign_id": campaign.pk, "name": campaign.name, "state": campaign.state, "recipients": counts}


def on_campaign_finished(sender: Any, *, campaign_id: int, **_: Any) -> None:
    if (endpoints := _listening()) and (payload := _campaign_payload(campaign_id)):
        payload["state"] = Campaign.State.FINISHED
        events_record([NewEvent(type="campaign.completed", payload=payload)], endpoints=endpoints)


def on_campaign_paused(sender: Any, *, campaign_id: int, **_: Any) -> None:
    if (endpoints := _listening()) and (payload := _campaign_payload(campaign_id)):
        payload["state"] = Campaign.State.PAUSED
        events_record([NewEvent(type="campaign.paused", payload=payload)], endpoints=endpoints)


def on_scrape_finished(sender: Any, *, job_id: int, state: str, **_: Any) -> None:
    if not (endpoints := _listening()):
        return
    job = ScrapeJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    payload = {
        "job_id": job.pk,
        "account_id": job.account_id,
        "audience_id": job.audience_id,
        "target": job.target,
        "state": state,
        "message": job.message,
        "members": job.members,
        "total": job.total,
    }
    events_record(
        [NewEvent(type="scrape.completed", account_id=job.account_id, payload=payload)], endpoints=endpoints
    )


# --- automation ----------------------------------------------------------------------------------


def on_pairing_requested(sender: Any, *, request_id: int, account_id: int, **_: Any) -> None:
    if not (endpoints := _listening()):
        return
    request = PairingRequest.objects.filter(pk=request_id).first()
    if request is None:
        return
    payload = {
        "request_id": request.pk,
        "account_id": account_id,
        "sender": {"id": request.sender_id, "username": request.username, "name": request.name},
        "conversation_id": request.conversation_id,
        "text": request.first_text,
        "created_at": _at(request.created_at),
        "expires_at": _at(request.expires_at),
    }
    events_record(
        [NewEvent(type="pairing.requested", account_id=account_id, payload=payload)], endpoints=endpoints
    )
