"""Writing ingested batches: bulk upserts, idempotent on (account, peer, message id).

One batch is one transaction of a handful of set-based statements, whatever its size: contacts,
the access hashes each account holds, conversations, messages, then deletions, read marks and the
per-conversation summary (last activity, preview, unread count). Running a batch twice changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.services import service_notification_record
from accounts.telegram.records import SERVICE_USER_ID, Deletion, MessageRecord, PeerInfo, ReadMark, UserInfo
from crm.text import without_nul
from inbox import optout, responses, signals
from inbox.models import Conversation
from inbox.records import Batch

# Telethon marks channel (and supergroup) ids as -(10**12 + id); private and basic-group message ids
# share one numbering per account, channel message ids are per channel.
log = logging.getLogger(__name__)

CHANNEL_MARK = -(10**12)
PREVIEW_LENGTH = 200


def ingest_each(batch: Batch) -> tuple[set[int], int]:
    """Store a batch item by item, skipping (and counting) items PostgreSQL refuses: the fallback for a
    batch that keeps failing, so one bad item cannot hold up everything received after it."""
    touched: set[int] = set()
    skipped = 0
    parts = [Batch(messages=[m]) for m in batch.messages]
    parts += [Batch(deletions=[d]) for d in batch.deletions] + [Batch(reads=[r]) for r in batch.reads]
    for part in parts:
        try:
            touched |= ingest(part)
        except (DataError, IntegrityError):
            # Only the item's own fault is skipped; an outage (OperationalError) propagates and the
            # whole batch stays buffered for the next try.
            log.exception("inbox: skipped an item PostgreSQL refused")
            skipped += 1
    return touched, skipped


def ingest(batch: Batch) -> set[int]:
    """Store a batch of ingested messages, edits, deletions and read marks; returns the accounts touched."""
    if not len(batch):
        return set()
    batch = without_nul(batch)
    messages = [m for m in batch.messages if not m.is_service_notification]
    with transaction.atomic(), connection.cursor() as cursor:
        _record_service_notifications([m for m in batch.messages if m.is_service_notification])
        contacts = _upsert_contacts(cursor, _users(messages))
        _upsert_hashes(cursor, messages, contacts)
        peers = {(m.account_id, m.peer.peer_id): m.peer for m in messages}
        conversations = _upsert_conversations(cursor, peers, contacts)
        changed, stored = _upsert_messages(cursor, messages, conversations, contacts)
        sent = stored["sent"]
        deleted_in, stored["deleted"] = _apply_deletions(cursor, batch.deletions)
        read_in, read_out = _apply_reads(cursor, batch.reads)
        recount = deleted_in | read_in
        reopened = _closed(cursor, {conv for conv, _, inbound in changed if inbound})
        _answered(cursor, {conv for conv, _, inbound in changed if inbound})
        _summarise(cursor, changed, deleted_in)
        _record_responses(sent, reopened)
        _recount_unread(cursor, recount)
        _add_unread(cursor, [(c, tid) for c, tid, inbound in changed if inbound and c not in recount])
        if any(stored.values()):
            signals.messages_stored.send(sender=Batch, **stored)
        if read_out:
            signals.outbox_read.send(sender=Batch, conversation_ids=sorted(read_out))
    return (
        {m.account_id for m in batch.messages}
        | {d.account_id for d in batch.deletions}
        | {r.account_id for r in batch.reads}
    )


def conversations_ensure(*, account_id: int, peers: Iterable[PeerInfo]) -> dict[int, int]:
    """Conversations for these peers (created if new); returns peer_id → conversation id. Telegram's
    service account never gets one."""
    peers = [without_nul(p) for p in peers if p.peer_id != SERVICE_USER_ID]
    with transaction.atomic(), connection.cursor() as cursor:
        users = {p.user.telegram_id: p.user for p in peers if p.user}
        contacts = _upsert_contacts(cursor, users)
        found = _upsert_conversations(cursor, {(account_id, p.peer_id): p for p in peers}, contacts)
    return {peer: conv for (_, peer), conv in found.items()}


def _record_service_notifications(notices: list[MessageRecord]) -> None:
    """Messages from Telegram's service account go to the account's own history for admins (their codes
    were masked on conversion), once each; the inbox never shows them."""
    for notice in notices:
        if not notice.out:
            service_notification_record(
                account_id=notice.account_id,
                telegram_id=notice.telegram_id,
                date=notice.date,
                text=notice.text,
            )


def _closed(cursor: Any, conversation_ids: set[int]) -> list[int]:
    """Which of these conversations are closed (a new inbound message is about to reopen them)."""
    if not conversation_ids:
        return []
    cursor.execute(
        "SELECT id FROM inbox_conversation WHERE id = ANY(%s) AND state = 'closed'",
        [sorted(conversation_ids)],
    )
    return [row[0] for row in cursor.fetchall()]


def _record_responses(sent: list[int], reopened: list[int]) -> None:
    """Reporting events for what this batch did, in its transaction: new outbound messages measured as
    replies, closed conversations reopened by a new inbound message."""
    responses.replies_record(message_ids=sent)
    for conversation in Conversation.objects.filter(pk__in=reopened):
        responses.state_changed(
            conversation=conversation, old=Conversation.State.CLOSED, new=conversation.state,
            at=timezone.now(), by_id=None,
        )  # fmt: skip


def _users(messages: list[MessageRecord]) -> dict[int, UserInfo]:
    users: dict[int, UserInfo] = {}
    for m in messages:
        for user in (m.peer.user, m.sender):
            if user is not None and (user.first_name or user.username or user.telegram_id not in users):
                users[user.telegram_id] = user
    return users


def _upsert_contacts(cursor: Any, users: dict[int, UserInfo]) -> dict[int, int]:
    if not users:
        return {}
    # Rows are locked in the order given: one order (by key) for every batch, so two batches sharing
    # contacts (two accounts talking to one person) wait for each other instead of deadlocking.
    rows = [users[key] for key in sorted(users)]
    cursor.execute(
        """
        INSERT INTO inbox_contact (telegram_id, username, first_name, last_name, phone, is_bot, is_deleted,
                                   opted_out, created_at, updated_at)
        SELECT u.*, false, now(), now()
        FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bool[], %s::bool[])
             AS u(telegram_id, username, first_name, last_name, phone, is_bot, is_deleted)
        ON CONFLICT (telegram_id) DO UPDATE SET
            username = EXCLUDED.username,
            first_name = COALESCE(NULLIF(EXCLUDED.first_name, ''), inbox_contact.first_name),
            last_name = COALESCE(NULLIF(EXCLUDED.last_name, ''), inbox_contact.last_name),
            phone = COALESCE(NULLIF(EXCLUDED.phone, ''), inbox_contact.phone),
            is_deleted = EXCLUDED.is_deleted,
            updated_at = now()
        -- Min users (big groups) come without names: never let them blank a known contact.
        WHERE EXCLUDED.first_name <> '' AND (inbox_contact.username, inbox_contact.first_name,
              inbox_contact.last_name, inbox_contact.is_deleted)
              IS DISTINCT FROM
              (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.is_deleted)
        """,
        [
            [u.telegram_id for u in rows],
            [u.username for u in rows],
            [u.first_name for u in rows],
            [u.last_name for u in rows],
            [u.phone for u in rows],
            [u.is_bot for u in rows],
            [u.is_deleted for u in rows],
        ],
    )
    cursor.execute("SELECT telegram_id, id FROM inbox_contact WHERE telegram_id = ANY(%s)", [list(users)])
    return dict(cursor.fetchall())


def _upsert_hashes(cursor: Any, messages: list[MessageRecord], contacts: dict[int, int]) -> None:
    hashes: dict[tuple[int, int], int] = {}
    for m in messages:
        for user in (m.peer.user, m.sender):
            if user is not None and user.access_hash is not None and user.telegram_id in contacts:
                hashes[(contacts[user.telegram_id], m.account_id)] = user.access_hash
    if not hashes:
        return
    keys = sorted(hashes)  # locked in key order, as the contacts
    cursor.execute(
        """
        INSERT INTO inbox_contacthash (contact_id, account_id, access_hash, seen_at)
        SELECT h.*, now() FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS h(c, a, hash)
        ON CONFLICT (contact_id, account_id) DO UPDATE SET access_hash = EXCLUDED.access_hash, seen_at = now()
        WHERE inbox_contacthash.access_hash <> EXCLUDED.access_hash
        """,
        [[c for c, _ in keys], [a for _, a in keys], [hashes[k] for k in keys]],
    )


def _upsert_conversations(
    cursor: Any, peers: dict[tuple[int, int], PeerInfo], contacts: dict[int, int]
) -> dict[tuple[int, int], int]:
    if not peers:
        return {}
    keys = sorted(peers)  # locked in key order, as the contacts
    rows = [peers[k] for k in keys]
    cursor.execute(
        """
        INSERT INTO inbox_conversation (account_id, peer_id, kind, contact_id, title, username,
            last_message_preview, last_direction, unread_count, read_inbox_max_id, read_outbox_max_id, state,
            created_at)
        SELECT p.*, '', '', 0, 0, 0, 'open', now()
        FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[])
             AS p(account_id, peer_id, kind, contact_id, title, username)
        ON CONFLICT (account_id, peer_id) DO UPDATE SET
            -- An update without the chat's entity has no title and only guesses the kind: keep ours.
            kind = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.kind ELSE inbox_conversation.kind END,
            title = COALESCE(NULLIF(EXCLUDED.title, ''), inbox_conversation.title),
            username = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.username
                            ELSE inbox_conversation.username END,
            contact_id = COALESCE(EXCLUDED.contact_id, inbox_conversation.contact_id)
        WHERE EXCLUDED.title <> '' AND (inbox_conversation.title, inbox_conversation.username,
              inbox_conversation.kind, inbox_conversation.contact_id)
              IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.username, EXCLUDED.kind, EXCLUDED.contact_id)
        """,
        [
            [a for a, _ in keys],
            [p for _, p in keys],
            [r.kind for r in rows],
            [contacts.get(r.user.telegram_id) if r.user else None for r in rows],
            [r.title[:255] for r in rows],
            [r.username for r in rows],
        ],
    )
    cursor.execute(
        """
        SELECT c.account_id, c.peer_id, c.id FROM inbox_conversation c
        JOIN unnest(%s::bigint[], %s::bigint[]) AS k(account_id, peer_id)
          ON c.account_id = k.account_id AND c.peer_id = k.peer_id
        """,
        [[a for a, _ in keys], [p for _, p in keys]],
    )
    return {(a, p): conv for a, p, conv in cursor.fetchall()}


def _upsert_messages(
    cursor: Any,
    messages: list[MessageRecord],
    conversations: dict[tuple[int, int], int],
    contacts: dict[int, int],
) -> tuple[list[tuple[int, int, bool]], dict[str, list[int]]]:
    """Insert new messages, apply newer edits; returns (conversation, telegram id, new inbound?) changed,
    and the ids of the messages ``received`` (new inbound), ``sent`` (new outbound) and ``edited``."""
    latest: dict[tuple[int, int], MessageRecord] = {}
    for m in messages:  # one row per key: ON CONFLICT cannot touch a row twice in one statement
        key = (conversations[(m.account_id, m.peer.peer_id)], m.telegram_id)
        known = latest.get(key)
        if known is None or (m.edited_at or m.date) >= (known.edited_at or known.date):
            latest[key] = m
    if not latest:
        return [], {"received": [], "sent": [], "edited": []}
    # Insert in Telegram's order: rows of the same second are told apart by their id (arrival) order.
    keys = sorted(latest, key=lambda k: (latest[k].date, k[1]))
    rows = [latest[k] for k in keys]
    cursor.execute(
        """
        INSERT INTO inbox_message (conversation_id, telegram_id, direction, sender_id, sender_name, text,
            entities, media_kind, media, reply_to_id, date, edited_at, deleted, delivery, failure_reason,
            opt_out_word, created_at)
        SELECT m.conversation_id, m.telegram_id, m.direction, m.sender_id, m.sender_name, m.text,
               m.entities::jsonb, m.media_kind, m.media::jsonb, m.reply_to_id, m.date, m.edited_at,
               false, 'sent', '', m.opt_out_word, now()
        FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[],
                    %s::text[], %s::text[], %s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::text[])
             AS m(conversation_id, telegram_id, direction, sender_id, sender_name, text, entities, media_kind,
                  media, reply_to_id, date, edited_at, opt_out_word)
        ON CONFLICT (conversation_id, telegram_id) DO UPDATE SET
            text = EXCLUDED.text, entities = EXCLUDED.entities, media_kind = EXCLUDED.media_kind,
            media = EXCLUDED.media, edited_at = EXCLUDED.edited_at, opt_out_word = EXCLUDED.opt_out_word
        -- Only a newer edit changes a stored message; a replayed update changes nothing.
        WHERE EXCLUDED.edited_at IS NOT NULL
          AND (inbox_message.edited_at IS NULL OR EXCLUDED.edited_at > inbox_message.edited_at)
        RETURNING conversation_id, telegram_id, (xmax = 0) AND direction = 'in', id,
                  (xmax = 0) AND direction = 'out', xmax <> 0, opt_out_word
        """,
        [
            [c for c, _ in keys],
            [t for _, t in keys],
            ["out" if r.out else "in" for r in rows],
            [contacts.get(r.sender.telegram_id) if r.sender else None for r in rows],
            [r.sender_name[:255] for r in rows],
            [r.text for r in rows],
            [json.dumps(r.entities) for r in rows],
            [r.media_kind for r in rows],
            [json.dumps(r.media, default=str) for r in rows],
            [r.reply_to_id for r in rows],
            [r.date for r in rows],
            [r.edited_at for r in rows],
            [_opt_out_word(r) for r in rows],
        ],
    )
    rows = cursor.fetchall()
    changed = [(conv, tid, bool(inbound)) for conv, tid, inbound, *_ in rows]
    _flag_opt_outs(cursor, {conv: word for conv, *_, word in rows if word})
    return changed, {
        "received": [pk for _, _, inbound, pk, *_ in rows if inbound],
        "sent": [pk for _, _, _, pk, new_out, *_ in rows if new_out],
        "edited": [pk for *_, pk, _, edited, _ in rows if edited],
    }


def _opt_out_word(record: MessageRecord) -> str:
    """Opt-out words are looked for in what people write to us in private chats (whom campaigns reach)."""
    if record.out or record.peer.kind != Conversation.Kind.PRIVATE:
        return ""
    return optout.opt_out_word(record.text)


def _flag_opt_outs(cursor: Any, words: dict[int, str]) -> None:
    """Flag the conversations of new (or newly edited) messages with opt-out words for an operator, unless
    the person already opted out."""
    if not words:
        return
    cursor.execute(
        """
        UPDATE inbox_conversation c SET opt_out_flag = f.word
        FROM unnest(%s::bigint[], %s::text[]) AS f(id, word)
        WHERE c.id = f.id AND NOT EXISTS (
            SELECT 1 FROM inbox_contact p WHERE p.id = c.contact_id AND p.opted_out)
        """,
        [list(words), list(words.values())],
    )


def _answered(cursor: Any, conversation_ids: set[int]) -> None:
    """A conversation a campaign started joins the Open queue with the person's first answer."""
    if conversation_ids:
        cursor.execute(
            "UPDATE inbox_conversation SET outreach_pending = false WHERE id = ANY(%s) AND outreach_pending",
            [sorted(conversation_ids)],
        )


def _apply_deletions(cursor: Any, deletions: list[Deletion]) -> tuple[set[int], list[int]]:
    """Mark deleted messages; returns the conversations touched and the ids of the messages deleted."""
    touched: set[int] = set()
    deleted: list[int] = []
    for d in deletions:
        if d.channel_peer_id is not None:
            scope, params = "c.peer_id = %s", [d.channel_peer_id]
        else:
            scope, params = "c.peer_id > %s", [CHANNEL_MARK]
        # The conversations' rows first (in key order), then their messages, as every writer of messages
        # does: the reports' rollups are kept inside the update (see reply_send).
        cursor.execute(
            f"""
            SELECT m.id FROM inbox_message m JOIN inbox_conversation c ON c.id = m.conversation_id
            WHERE c.account_id = %s AND {scope} AND m.telegram_id = ANY(%s) AND NOT m.deleted
            ORDER BY c.id FOR NO KEY UPDATE OF c
            """,  # noqa: S608 - scope is one of two fixed strings
            [d.account_id, *params, list(d.ids)],
        )
        found = [row[0] for row in cursor.fetchall()]
        if not found:
            continue
        cursor.execute(
            "UPDATE inbox_message SET deleted = true WHERE id = ANY(%s) AND NOT deleted "
            "RETURNING conversation_id, id",
            [found],
        )
        for conversation_id, message_id in cursor.fetchall():
            touched.add(conversation_id)
            deleted.append(message_id)
    return touched, deleted


def _apply_reads(cursor: Any, reads: list[ReadMark]) -> tuple[set[int], set[int]]:
    """Move read marks forward; returns the conversations whose inbox (we read theirs) and whose outbox
    (they read ours) mark moved."""
    touched: set[int] = set()
    read_out: set[int] = set()
    for r in reads:
        column = "read_outbox_max_id" if r.outbox else "read_inbox_max_id"
        cursor.execute(
            f"""
            UPDATE inbox_conversation SET {column} = %s
            WHERE account_id = %s AND peer_id = %s AND {column} < %s RETURNING id
            """,  # noqa: S608 - column is one of two fixed names
            [r.max_id, r.account_id, r.peer_id, r.max_id],
        )
        (read_out if r.outbox else touched).update(row[0] for row in cursor.fetchall())
    return touched, read_out


def _summarise(cursor: Any, changed: list[tuple[int, int, bool]], deleted_in: set[int]) -> None:
    """Last activity and preview from each touched conversation's newest message (ties broken by
    arrival: Telegram dates have whole seconds); a new inbound message reopens a closed or snoozed one."""
    touched = sorted({conv for conv, _, _ in changed} | deleted_in)
    if not touched:
        return
    cursor.execute(
        """
        SELECT DISTINCT ON (conversation_id) conversation_id, date, direction, text, media_kind
        FROM inbox_message WHERE conversation_id = ANY(%s) AND NOT deleted
        ORDER BY conversation_id, date DESC, id DESC
        """,
        [touched],
    )
    newest = cursor.fetchall()
    if not newest:
        return
    reopen = sorted({conv for conv, _, inbound in changed if inbound})
    cursor.execute(
        """
        UPDATE inbox_conversation c SET
            last_message_at = m.date,
            last_direction = m.direction,
            last_message_preview = m.preview,
            state = CASE WHEN c.id = ANY(%s) THEN 'open' ELSE c.state END,
            snoozed_until = CASE WHEN c.id = ANY(%s) THEN NULL ELSE c.snoozed_until END
        FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[])
             AS m(conversation_id, date, direction, preview)
        WHERE c.id = m.conversation_id
        """,
        [
            reopen,
            reopen,
            [conv for conv, *_ in newest],
            [date for _, date, *_ in newest],
            [direction for _, _, direction, *_ in newest],
            [
                preview_text(text, out=direction == "out", media_kind=kind)
                for *_, direction, text, kind in newest
            ],
        ],
    )


def preview_text(text: str, *, out: bool, media_kind: str = "") -> str:
    """The one rule for a message's line in the conversation list, whoever writes it (ingestion or a
    reply): the text on one line, or "[photo]" and the like for media without a caption, "You: " before
    our own, cut to the column's length."""
    text = " ".join(text.split())
    if not text and media_kind:
        text = f"[{media_kind.replace('_', ' ')}]"
    return (("You: " if out else "") + text)[:PREVIEW_LENGTH]


def _add_unread(cursor: Any, new_inbound: list[tuple[int, int]]) -> None:
    """New inbound messages above the read mark add to the unread count (a recount would read every
    message of a busy conversation on every flush)."""
    if not new_inbound:
        return
    cursor.execute(
        """
        UPDATE inbox_conversation c SET unread_count = c.unread_count + v.n
        FROM (
            SELECT x.conv, count(*) AS n
            FROM unnest(%s::bigint[], %s::bigint[]) AS x(conv, tid)
            JOIN inbox_conversation r ON r.id = x.conv AND x.tid > r.read_inbox_max_id
            GROUP BY x.conv
        ) v
        WHERE c.id = v.conv
        """,
        [[conv for conv, _ in new_inbound], [tid for _, tid in new_inbound]],
    )


def _recount_unread(cursor: Any, conversation_ids: set[int]) -> None:
    if not conversation_ids:
        return
    cursor.execute(
        """
        UPDATE inbox_conversation c SET unread_count = (
            SELECT count(*) FROM inbox_message m
            WHERE m.conversation_id = c.id AND m.direction = 'in' AND NOT m.deleted
              AND m.telegram_id > c.read_inbox_max_id)
        WHERE c.id = ANY(%s)
        """,
        [sorted(conversation_ids)],
    )


def dialog_state_apply(
    *, conversation_id: int, unread_count: int, read_inbox_max_id: int, read_outbox_max_id: int
) -> None:
    """Telegram's own read state for a dialog (from the backfill's dialog list)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE inbox_conversation SET unread_count = %s,
                read_inbox_max_id = GREATEST(read_inbox_max_id, %s),
                read_outbox_max_id = GREATEST(read_outbox_max_id, %s)
            WHERE id = %s
            """,
            [unread_count, read_inbox_max_id, read_outbox_max_id, conversation_id],
        )
        if read_outbox_max_id > 0:
            signals.outbox_read.send(sender=Batch, conversation_ids=[conversation_id])
