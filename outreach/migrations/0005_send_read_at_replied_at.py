from django.db import migrations, models

# Credits every recipient's first reply to the last send before it, and marks read the sends their read
# receipts cover, once, for the sends stored before this was recorded at ingestion (the same rules as
# ``outreach.outcomes``, kept here as they were then; read_at is the migration's time for those).
CREDIT_ALL = """
WITH replies AS (
    SELECT r.id AS recipient_id, reply.telegram_id AS reply_id, reply.date AS reply_date
    FROM outreach_recipient r
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
)
UPDATE outreach_send s SET replied_at = credited.reply_date FROM credited WHERE s.id = credited.id
"""
READ_ALL = """
UPDATE outreach_send s SET read_at = now()
FROM outreach_recipient r
JOIN inbox_contact ct ON ct.id = r.contact_id
JOIN inbox_conversation c ON c.peer_id = ct.telegram_id
WHERE s.recipient_id = r.id AND c.account_id = s.account_id
  AND s.state = 'sent' AND s.message_id <= c.read_outbox_max_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0004_warmup_action_kind_choices"),
        ("inbox", "0009_automation_marks"),
    ]

    operations = [
        migrations.AddField(
            model_name="send",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="send",
            name="replied_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL([CREDIT_ALL, READ_ALL], migrations.RunSQL.noop),
    ]
