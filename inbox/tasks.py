"""The inbox's account commands as Celery tasks, routed to the account's queue (see docs/session-host.md)."""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import shared_task
from celery.exceptions import Reject, Retry

from accounts.host.commands import Failed, requeue_on_database_error, run
from inbox import services, steps
from inbox.models import Message

log = logging.getLogger(__name__)


@shared_task(bind=True, name="inbox.send_reply", max_retries=None)
def send_reply(self: Any, *, account_id: int, message_id: int) -> dict[str, Any]:
    with requeue_on_database_error():
        pending = Message.objects.filter(pk=message_id, delivery=Message.Delivery.PENDING).exists()
    if not pending:
        return {"ok": True, "skipped": "not pending"}
    try:
        return run(
            self,
            account_id=account_id,
            call=functools.partial(steps.send_reply, message_id=message_id),
            budget="message",
        )
    except Failed as failure:
        services.reply_failed(message_id=message_id, reason=failure.reason)
        return {"ok": False, "error": failure.reason, "status": failure.status}
    except (Reject, Retry):
        raise  # back to the account's queue (another host, a cooldown, slow mode): still pending
    except Exception:
        log.exception("reply %s could not be sent", message_id)
        services.reply_failed(message_id=message_id, reason="Something went wrong while sending; try again")
        raise


@shared_task(bind=True, name="inbox.backfill")
def backfill(self: Any, *, account_id: int) -> dict[str, Any]:
    try:
        return run(self, account_id=account_id, call=steps.backfill, timeout=600)
    except Failed as failure:
        return {"ok": False, "error": failure.reason, "status": failure.status}


@shared_task(bind=True, name="inbox.fetch_media")
def fetch_media(self: Any, *, account_id: int, message_id: int) -> dict[str, Any]:
    with requeue_on_database_error():
        gone = not Message.objects.filter(pk=message_id).exists()
    if gone:
        return {"ok": False, "error": "The message no longer exists"}
    try:
        return run(
            self, account_id=account_id, call=functools.partial(steps.fetch_media, message_id=message_id)
        )
    except Failed as failure:
        services.media_failed(message_id=message_id, reason=failure.reason)
        return {"ok": False, "error": failure.reason}
    except (Reject, Retry):
        raise
    except Exception:
        services.media_failed(message_id=message_id, reason="Telegram did not hand over the file")
        raise
