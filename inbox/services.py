"""Writes about conversations: replies and their delivery, assignment, status, labels, notes, backfill;
and every write other apps make to contacts, access hashes and messages (the inbox owns those tables)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import Account, AccountEvent
from accounts.services import event_record
from accounts.telegram.records import Dialog, MessageRecord, PeerInfo, UserInfo
from crm.parsing import text_problem
from inbox import commands, live, notify, responses, selectors, store
from inbox.models import CannedReply, Contact, ContactHash, Conversation, Label, MediaFile, Message, Note
from inbox.records import Batch

MAX_TEXT = 4096
MAX_NOTE = 10_000  # an internal note is a few lines; the cap keeps a paste accident out of every page load
SHORTCUT = re.compile(r"^/([-a-zA-Z0-9_]+)$")


# --- replies -----------------------------------------------------------------------------------------


def canned_expand(text: str) -> str:
    """A reply that is just ``/shortcut`` becomes that canned reply's text."""
    match = SHORTCUT.match(text.strip())
    if match:
        canned = CannedReply.objects.filter(shortcut=match.group(1).lower()).first()
        if canned is not None:
            return canned.text
    return text


def reply_send(
    *,
    conversation: Conversation,
    text: str,
    by: Any,
    reply_to: int | None = None,
    random_id: int | None = None,
    automation: str = "",
) -> Message:
    """Queue a reply: stored as pending with its random_id first, then sent by the account's host.
    ``automation`` names what wrote it when no person did ("agent", "pairing"; ``by`` is then None).

    The random_id is chosen and stored before anything reaches Telegram, so a retry of the same
    message can never send it twice (Telegram deduplicates by random_id). It comes from the OS (secrets),
    not the ``random`` module: whatever seeds that (a library, a test framework) would repeat ids, and
    Telegram drops a message whose random_id it has seen. A caller that retries (the API, with an
    Idempotency-Key) passes its own ``random_id``: the reply already stored under it is returned instead
    of a second one.
    """
    text = canned_expand(text or "").strip()
    if not text:
        raise ValueError("Write something to send")
    if len(text) > MAX_TEXT:
        raise ValueError(f"Telegram messages are at most {MAX_TEXT} characters")
    if problem := text_problem(text):
        raise ValueError(problem)
    if conversation.kind == Conversation.Kind.CHANNEL:
        raise ValueError("Channels are read-only in the inbox")
    if random_id is not None and (earlier := _reply_with(conversation, random_id)) is not None:
        return earlier
    try:
        return _reply_store(
            conversation, text, by=by, reply_to=reply_to, random_id=random_id, automation=automation
        )
    except IntegrityError:
        # The same retry arrived twice at once: the other request stored it first.
        earlier = _reply_with(conversation, random_id) if random_id is not None else None
        if earlier is None:
            raise
        return earlier


def _reply_with(conversation: Conversation, random_id: int) -> Message | None:
    """The reply stored under this random_id; refused if it belongs to another conversation."""
    earlier = Message.objects.filter(random_id=random_id).first()
    if earlier is not None and earlier.conversation_id != conversation.pk:
        raise ValueError("That idempotency key was already used for a reply in another conversation")
    return earlier


def _reply_store(
    conversation: Conversation,
    text: str,
    *,
    by: Any,
    reply_to: int | None,
    random_id: int | None,
    automation: str,
) -> Message:
    now = timezone.now()
    with transaction.atomic():
        # The conversation's row first, then its message, as ingestion does (it upserts conversations
        # before their messages): the reports' rollups are kept inside message inserts, and two writers
        # of one conversation reaching them in opposite orders would deadlock.
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now,
            last_message_preview=store.preview_text(text, out=True),
            last_direction=Message.Direction.OUT,
        )
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUT,
            text=text,
            reply_to_id=reply_to,
            delivery=Message.Delivery.PENDING,
            random_id=random_id if random_id is not None else secrets.randbits(63),
            sent_by=by if getattr(by, "pk", None) else None,
            sender_name=getattr(by, "username", "") or "",
            automation=automation,
            date=now,
        )
        responses.replies_record(message_ids=[message.pk])
        commands.reply.queue(conversation.account, message_id=message.pk)
        if not automation:
            conversation_mark_read(conversation=conversation)  # whoever answers has read it
        live.bump([conversation.account_id])
    return message


def reply_sent(*, message_id: int, telegram_id: int, date: datetime | None = None) -> None:
    """The host sent the reply: record Telegram's id (the ingested copy of it, if any, is merged)."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    fields: dict[str, Any] = {
        "telegram_id": telegram_id,
        "delivery": Message.Delivery.SENT,
        "failure_reason": "",
    }
    if date is not None:
        fields["date"] = date
    with transaction.atomic():
        # The account's own update about this message may have been ingested first: keep our row,
        # which knows who sent it and its random_id, and drop the copy.
        Message.objects.filter(
            conversation_id=message.conversation_id, telegram_id=telegram_id, random_id__isnull=True
        ).exclude(pk=message_id).delete()
        try:
            with transaction.atomic():
                Message.objects.filter(pk=message_id).update(**fields)
        except IntegrityError:
            # Another reply row already holds this id (a retry raced its original): this one is it.
            Message.objects.filter(pk=message_id).update(delivery=Message.Delivery.SENT, failure_reason="")
        live.bump([message.conversation.account_id])


def reply_failed(*, message_id: int, reason: str) -> None:
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None or message.delivery == Message.Delivery.SENT:
        return
    with transaction.atomic():
        Message.objects.filter(pk=message_id).exclude(delivery=Message.Delivery.SENT).update(
            delivery=Message.Delivery.FAILED, failure_reason=reason[:255]
        )
        live.bump([message.conversation.account_id])


def reply_retry(*, message: Message, by: Any) -> Message:
    """Send a failed reply again with the same random_id (so it can never arrive twice)."""
    if message.delivery != Message.Delivery.FAILED:
        raise ValueError("Only a failed reply can be retried")
    with transaction.atomic():
        claimed = Message.objects.filter(pk=message.pk, delivery=Message.Delivery.FAILED).update(
            delivery=Message.Delivery.PENDING, failure_reason=""
        )
        if claimed:
            account = message.conversation.account
            commands.reply.queue(account, message_id=message.pk)
            live.bump([account.pk])
    message.refresh_from_db()
    return message


# --- working a conversation --------------------------------------------------------------------------


def conversation_mark_read(*, conversation: Conversation) -> None:
    """The operator opened or answered it: everything received so far counts as read in the inbox, and
    on Telegram too (the account's ``read_on_telegram``), once: only when the read mark moves."""
    if conversation.unread_count == 0:
        return
    top = (
        conversation.messages.filter(direction=Message.Direction.IN, telegram_id__isnull=False)
        .order_by("-telegram_id")
        .values_list("telegram_id", flat=True)
        .first()
    ) or 0
    with transaction.atomic():
        moved = Conversation.objects.filter(
            pk=conversation.pk, read_inbox_max_id__lt=top, account__read_on_telegram=True
        ).update(unread_count=0, read_inbox_max_id=top)
        if not moved:
            Conversation.objects.filter(pk=conversation.pk).update(
                unread_count=0, read_inbox_max_id=Greatest("read_inbox_max_id", top)
            )
        else:
            commands.read.queue(conversation.account_id, conversation_id=conversation.pk, max_id=top)
        live.bump([conversation.account_id])
    conversation.unread_count = 0


def conversation_assign(*, conversation: Conversation, assignee: Any, by: Any, tell: bool = True) -> bool:
    """Assign the conversation (None: unassign); True if that changed it. The new assignee is notified
    unless they took it themselves (or ``tell`` is off: a bulk assignment tells once). Refused
    (ValueError, in words an operator can act on) when the assignee may not see the conversation's
    account."""
    if assignee is not None and not assignee_may_see(assignee=assignee, conversation=conversation):
        raise ValueError(
            f"{assignee.get_username()} may not see conversations of {conversation.account.display_name}"
        )
    with transaction.atomic():
        rows = Conversation.objects.filter(pk=conversation.pk)
        rows = rows.exclude(assignee__isnull=True) if assignee is None else rows.exclude(assignee=assignee)
        changed = bool(rows.update(assignee=assignee))
        if changed:
            if assignee is not None and tell:
                notify.assigned_notify(conversation=conversation, assignee=assignee, by=by)
            live.bump([conversation.account_id])
    conversation.assignee = assignee
    return changed


def assignee_may_see(*, assignee: Any, conversation: Conversation) -> bool:
    """Whether the user may be assigned the conversation: an active admin, or an operator granted its
    account (the rule of ``selectors.assignees``)."""
    return selectors.assignees(conversation=conversation).filter(pk=assignee.pk).exists()


def conversations_claim(*, assignees: dict[int, int]) -> list[int]:
    """Assign each of these conversations (id → user id) that is still unassigned, in one statement;
    returns the ids assigned (one someone assigned meanwhile keeps its assignee). Tells nobody: the
    caller does (``notify.team_assigned_notify``), and ingestion's caller pushes the change."""
    if not assignees:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE inbox_conversation c SET assignee_id = v.user_id
            FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, user_id)
            WHERE c.id = v.id AND c.assignee_id IS NULL
            RETURNING c.id
            """,
            [list(assignees), list(assignees.values())],
        )
        return [row[0] for row in cursor.fetchall()]


def conversation_set_state(
    *, conversation: Conversation, state: str, by: Any, until: datetime | None = None
) -> bool:
    """Close, reopen or snooze (until a time; a new inbound message wakes it earlier). True if the state
    changed (closing a closed conversation changes nothing and records nothing)."""
    if state not in Conversation.State.values:
        raise ValueError("Unknown conversation state")
    if state == Conversation.State.SNOOZED and (until is None or until <= timezone.now()):
        raise ValueError("Snooze until a time in the future")
    snoozed_until = until if state == Conversation.State.SNOOZED else None
    with transaction.atomic():
        old = Conversation.objects.select_for_update().values_list("state", flat=True).get(pk=conversation.pk)
        Conversation.objects.filter(pk=conversation.pk).update(state=state, snoozed_until=snoozed_until)
        responses.state_changed(
            conversation=conversation, old=old, new=state, at=timezone.now(), by_id=getattr(by, "pk", None)
        )
        live.bump([conversation.account_id])
    conversation.state, conversation.snoozed_until = state, snoozed_until
    return old != state


def conversation_set_automation(*, conversation: Conversation, paused: bool, by: Any) -> None:
    """Take the conversation over (``paused``: the agent hook and automatic replies stay out of it) or
    hand it back to automation. A call the hook is answering right now is not sent once paused."""
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            automation_paused=paused,
            automation_paused_by=by if paused and getattr(by, "pk", None) else None,
            automation_paused_at=timezone.now() if paused else None,
        )
        live.bump([conversation.account_id])
    conversation.refresh_from_db(fields=["automation_paused", "automation_paused_by", "automation_paused_at"])


def conversation_set_labels(*, conversation: Conversation, labels: list[Label], by: Any) -> None:
    with transaction.atomic():
        conversation.labels.set(labels)
        live.bump([conversation.account_id])


def conversation_labels_change(
    *, conversation: Conversation, add: Iterable[Label] = (), remove: Iterable[Label] = (), by: Any
) -> bool:
    """Add some labels and remove others, leaving the rest; True if the conversation's labels changed.
    Adding a label it has, or removing one it lacks, is no change (two operators may do it at once)."""
    add, remove = list(add), list(remove)
    with transaction.atomic():
        had = set(conversation.labels.values_list("pk", flat=True))
        wanted = (had | {label.pk for label in add}) - {label.pk for label in remove}
        if wanted == had:
            return False
        conversation.labels.add(*[label for label in add if label.pk not in had])  # ignores a racing add
        conversation.labels.remove(*[label for label in remove if label.pk in had])
        live.bump([conversation.account_id])
    return True


def note_add(*, conversation: Conversation, text: str, by: Any) -> Note:
    """An internal note; raises ValueError (shown to the operator) for empty, NUL-bearing or long text."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Write the note first")
    if problem := text_problem(text, max_length=MAX_NOTE):
        raise ValueError(problem)
    with transaction.atomic():
        note = Note.objects.create(conversation=conversation, text=text, author=by)
        notify.mentions_notify(note=note)
    return note


# --- media, fetched when an operator opens it -------------------------------------------------------

MEDIA_STATUS = "inbox:media:{}"


def media_status(*, message: Message) -> str:
    """ "ready", "fetching", "failed: <reason>" or "" (never asked for)."""
    if MediaFile.objects.filter(message=message).exists():
        return "ready"
    return cache.get(MEDIA_STATUS.format(message.pk), "")


def media_request(*, message: Message) -> str:
    """Ask the account's host to fetch the file (once, however often operators click); returns the status."""
    status = media_status(message=message)
    if status in ("ready", "fetching") or not message.media_kind or message.telegram_id is None:
        return status
    cache.set(MEDIA_STATUS.format(message.pk), "fetching", timeout=120)
    commands.fetch_media.queue(message.conversation.account, message_id=message.pk)
    return "fetching"


def media_store(*, message_id: int, data: bytes, mime_type: str) -> None:
    MediaFile.objects.update_or_create(
        message_id=message_id, defaults={"data": data, "mime_type": mime_type[:100], "size": len(data)}
    )
    cache.delete(MEDIA_STATUS.format(message_id))


def media_failed(*, message_id: int, reason: str) -> None:
    cache.set(MEDIA_STATUS.format(message_id), f"failed: {reason}", timeout=600)


# --- backfill after onboarding -----------------------------------------------------------------------


def backfills_queued(*, account_ids: list[int]) -> set[int]:
    """Which of these accounts have had their dialog backfill queued already."""
    return set(
        AccountEvent.objects.filter(
            account_id__in=account_ids, kind=AccountEvent.Kind.INBOX_BACKFILL_QUEUED
        ).values_list("account_id", flat=True)
    )


def backfill_queue(*, account_id: int) -> bool:
    """Queue the dialog backfill for a newly active account, once in its life. True if queued now."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if AccountEvent.objects.filter(
            account=account, kind=AccountEvent.Kind.INBOX_BACKFILL_QUEUED
        ).exists():
            return False
        event_record(account=account, kind=AccountEvent.Kind.INBOX_BACKFILL_QUEUED)
        commands.backfill.queue(account)
    return True


def backfill_store(*, account_id: int, dialogs: list[Dialog]) -> int:
    """Store the backfilled dialogs, then Telegram's own read state and unread counts for them."""
    conversations = store.conversations_ensure(account_id=account_id, peers=[d.peer for d in dialogs])
    batch = Batch(messages=[m for d in dialogs for m in d.messages])
    store.ingest(batch)
    for dialog in dialogs:
        if dialog.peer.peer_id not in conversations:
            continue  # Telegram's service account: no conversation to hold a read state
        store.dialog_state_apply(
            conversation_id=conversations[dialog.peer.peer_id],
            unread_count=dialog.unread_count,
            read_inbox_max_id=dialog.read_inbox_max_id,
            read_outbox_max_id=dialog.read_outbox_max_id,
        )
    account = Account.objects.get(pk=account_id)
    event_record(
        account=account,
        kind=AccountEvent.Kind.INBOX_BACKFILLED,
        reason=f"{len(dialogs)} dialogs, {len(batch.messages)} messages",
    )
    live.bump([account_id])
    return len(batch.messages)


# --- contacts, access hashes and messages learned outside ingestion ---------------------------------


def contacts_store(*, account_id: int, users: Iterable[UserInfo]) -> dict[int, int]:
    """Upsert people an account listed (a group's members) and the access_hash it holds for each;
    returns telegram_id → contact id. A member list names everyone afresh, so its names win."""
    users = list(users)
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                telegram_id=u.telegram_id,
                username=u.username,
                first_name=u.first_name[:128],
                last_name=u.last_name[:128],
                phone=u.phone,
                is_bot=u.is_bot,
                is_deleted=u.is_deleted,
                updated_at=now,
            )
            for u in users
        ],
        update_conflicts=True,
        unique_fields=["telegram_id"],
        update_fields=["username", "first_name", "last_name", "is_bot", "is_deleted", "updated_at"],
    )
    ids = {c.telegram_id: c.pk for c in contacts}
    ContactHash.objects.bulk_create(
        [
            ContactHash(
                contact_id=ids[u.telegram_id], account_id=account_id, access_hash=u.access_hash, seen_at=now
            )
            for u in users
            if u.access_hash is not None
        ],
        update_conflicts=True,
        unique_fields=["contact", "account"],
        update_fields=["access_hash", "seen_at"],
    )
    return ids


def contact_import(
    *, telegram_id: int, username: str = "", phone: str = "", first_name: str = "", last_name: str = ""
) -> int:
    """The contact an imported list names by Telegram id, created if new; returns its id. A known contact
    keeps its names and phone; only a new username replaces its own."""
    contact, created = Contact.objects.get_or_create(
        telegram_id=telegram_id,
        defaults={
            "username": username,
            "phone": phone,
            "first_name": first_name[:128],
            "last_name": last_name[:128],
        },
    )
    if not created and username and contact.username != username:
        Contact.objects.filter(pk=contact.pk).update(username=username, updated_at=timezone.now())
    return contact.pk


def contact_hash_store(*, contact_id: int, account_id: int, access_hash: int) -> None:
    """Remember the access_hash this account learned for the contact (hashes are per account)."""
    ContactHash.objects.update_or_create(
        contact_id=contact_id,
        account_id=account_id,
        defaults={"access_hash": access_hash, "seen_at": timezone.now()},
    )


def sent_message_record(
    *,
    account_id: int,
    contact: Contact,
    telegram_id: int,
    date: datetime,
    text: str,
    media_kind: str = "",
    campaign_id: int | None = None,
    campaign_name: str = "",
) -> None:
    """A message an account sent outside the inbox (a campaign's) in the operators' inbox, as if ingested
    (idempotent on the message id): Telegram answers our own sendMessage without an update, so
    ingestion never sees it otherwise.

    A campaign's message carries the campaign; a conversation it starts (nothing else in it yet) shows
    the campaign and stays out of the Open queue until the person answers."""
    user = UserInfo(
        telegram_id=contact.telegram_id, access_hash=None, username=contact.username,
        first_name=contact.first_name, last_name=contact.last_name,
    )  # fmt: skip
    peer = PeerInfo(peer_id=contact.telegram_id, kind="private", title=user.display_name,
                    username=contact.username, user=user)  # fmt: skip
    record = MessageRecord(
        account_id=account_id, peer=peer, telegram_id=telegram_id, out=True, date=date, text=text,
        media_kind=media_kind,
    )  # fmt: skip
    with transaction.atomic():  # one commit: the new conversation never shows in the Open queue
        store.ingest(Batch(messages=[record]))
        if campaign_id is not None:
            _campaign_mark(
                account_id=account_id, peer_id=contact.telegram_id, telegram_id=telegram_id,
                date=date, campaign_id=campaign_id, campaign_name=campaign_name[:200],
            )  # fmt: skip


def _campaign_mark(
    *, account_id: int, peer_id: int, telegram_id: int, date: datetime, campaign_id: int, campaign_name: str
) -> None:
    convo = (
        Conversation.objects.select_for_update()
        .filter(account_id=account_id, peer_id=peer_id)
        .only("id", "campaign_id")
        .first()
    )
    if convo is None:
        return
    convo.messages.filter(telegram_id=telegram_id, direction=Message.Direction.OUT).update(
        campaign_id=campaign_id, campaign_name=campaign_name
    )
    if convo.campaign_id is not None:
        return
    # The campaign started the conversation when nothing else was said before its message. An answer
    # ingested before this record (a fast reply) is already there: the campaign shows, the queue has it.
    others = convo.messages.exclude(campaign_id=campaign_id)
    if others.filter(direction=Message.Direction.OUT).exists() or others.filter(date__lt=date).exists():
        return
    Conversation.objects.filter(pk=convo.pk).update(
        campaign_id=campaign_id, campaign_name=campaign_name, outreach_pending=not others.exists()
    )
