"""What became of campaign sends, recorded on them as it is ingested (never searched for at read time):
read (``Send.read_at``) and replied (``Send.replied_at``).

A send is read once its conversation's read receipt (``Conversation.read_outbox_max_id``) reaches its
message. A recipient's reply is the first inbound private message after their first campaign message; it is
credited to the last send that left before it (private-chat message ids grow per account, so ids order
them): that send's ``replied_at`` is the reply's date, every other send of the recipient has none.
Crediting is recomputed for the recipients a change touches, so it is idempotent and order-free: a
reply ingested before its send's message id was recorded is credited when the id is.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

# One statement: each recipient's first reply, the send it credits, and every send of theirs set to that
# (a reply date on the credited one, NULL on the others); rows already right are left alone. The ids are
# joined once, materialised: "= ANY" of a long array (the migration's or the bench's 50,000) is a linear
# search per row, and an unnest() inside the joins may be re-run for every row.
_CREDIT = """
WITH ids AS MATERIALIZED (
    SELECT DISTINCT unnest(%(recipients)s::bigint[]) AS id
),
replies AS (
    SELECT r.id AS recipient_id, reply.telegram_id AS reply_id, reply.date AS reply_date
    FROM ids
    JOIN outreach_recipient r ON r.id = ids.id
    JOIN inbox_contact ct ON ct.id = r.contact_id
    JOIN inbox_conversation c ON c.account_id = r.account_id AND c.peer_id = ct.telegram_id
    CROSS JOIN LATERAL (
        SELECT m.telegram_id, m.date FROM inbox_message m
        WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.telegram_id > r.first_message_id
        ORDER BY m.telegram_id LIMIT 1
    ) reply
    WHERE r.first_message_id IS NOT NULL
),
credited AS (
    SELECT DISTINCT ON (p.recipient_id) s.id, p.reply_date
    FROM replies p JOIN outreach_send s ON s.recipient_id = p.recipient_id
    WHERE s.state = 'sent' AND s.message_id < p.reply_id
    ORDER BY p.recipient_id, s.message_id DESC
),
wanted AS MATERIALIZED (
    SELECT t.id, credited.reply_date
    FROM ids JOIN outreach_send t ON t.recipient_id = ids.id LEFT JOIN credited ON credited.id = t.id
)
UPDATE outreach_send s SET replied_at = wanted.reply_date
FROM wanted
WHERE s.id = wanted.id AND s.replied_at IS DISTINCT FROM wanted.reply_date
"""


def replies_credit(*, recipient_ids: list[int]) -> int:
    """Set ``Send.replied_at`` for these recipients' sends from the messages stored; returns the sends
    changed. Runs in the caller's transaction."""
    if not recipient_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT, {"recipients": sorted(set(recipient_ids))})
        return int(cursor.rowcount)


def replies_received(*, message_ids: list[int]) -> int:
    """Credit the sends answered by these newly stored inbound messages (their recipients: the
    contacts of those private conversations, in campaigns sent from the same account)."""
    if not message_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT r.id
            FROM inbox_message m
            JOIN inbox_conversation c ON c.id = m.conversation_id
            JOIN inbox_contact ct ON ct.telegram_id = c.peer_id
            JOIN outreach_recipient r ON r.contact_id = ct.id AND r.account_id = c.account_id
            WHERE m.id = ANY(%s) AND m.direction = 'in' AND r.first_message_id IS NOT NULL
            """,
            [list(message_ids)],
        )
        recipients = [row[0] for row in cursor.fetchall()]
    return replies_credit(recipient_ids=recipients)


# Sends whose message the recipient's read receipt now covers; {scope} picks the conversations or the
# recipients to look at (a fixed SQL fragment). The recipients are found first, then their sends by
# recipient: never a scan of every send of the account.
_READ = """
WITH targets AS MATERIALIZED (
    SELECT r.id AS recipient_id, c.account_id, c.read_outbox_max_id AS read_max
    FROM inbox_conversation c
    JOIN inbox_contact ct ON ct.telegram_id = c.peer_id
    JOIN outreach_recipient r ON r.contact_id = ct.id
    WHERE {scope}
)
UPDATE outreach_send s SET read_at = now()
FROM targets t
WHERE s.recipient_id = t.recipient_id AND s.account_id = t.account_id
  AND s.state = 'sent' AND s.message_id <= t.read_max AND s.read_at IS NULL
"""


def reads_record(*, conversation_ids: list[int] | None = None, recipient_ids: list[int] | None = None) -> int:
    """Mark read the sends the read receipts of these conversations (or of these recipients' chats)
    cover; returns the sends marked. Runs in the caller's transaction."""
    if conversation_ids:
        scope, ids = "c.id IN (SELECT unnest(%s::bigint[]))", conversation_ids
    elif recipient_ids:
        scope, ids = "r.id IN (SELECT unnest(%s::bigint[]))", recipient_ids
    else:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_READ.format(scope=scope), [sorted(set(ids))])
        return int(cursor.rowcount)


def on_messages_stored(sender: Any, *, received: list[int], **_: Any) -> None:
    """``inbox.signals.messages_stored`` receiver: runs inside the ingestion transaction."""
    replies_received(message_ids=received)


def on_outbox_read(sender: Any, *, conversation_ids: list[int], **_: Any) -> None:
    """``inbox.signals.outbox_read`` receiver: runs inside the transaction that moved the receipts."""
    reads_record(conversation_ids=conversation_ids)
