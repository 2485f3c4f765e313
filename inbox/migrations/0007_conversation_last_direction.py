"""Conversations remember their newest message's direction (reports count unanswered ones from it)."""

from __future__ import annotations

from django.db import migrations, models

BACKFILL = """
UPDATE inbox_conversation c SET last_direction = m.direction
FROM (
    SELECT DISTINCT ON (conversation_id) conversation_id, direction FROM inbox_message
    WHERE NOT deleted ORDER BY conversation_id, date DESC, id DESC
) m
WHERE c.id = m.conversation_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0006_response_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="last_direction",
            field=models.CharField(blank=True, default="", db_default="", max_length=3),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
