"""Statistics on the funnel's moment of a send, COALESCE(sent_at, due_at): without them PostgreSQL
guesses that a range of it keeps 0.5 % of the sends, sorts 100,000 sends to group them instead of hashing
them, and the funnel at 90 days takes twice as long. Only ANALYZE pays for them (no index to keep)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_active_day_triggers"), ("outreach", "0005_send_read_at_replied_at")]

    operations = [
        migrations.RunSQL(
            [
                "CREATE STATISTICS reports_send_moment ON (COALESCE(sent_at, due_at)) FROM outreach_send",
                "ANALYZE outreach_send",
            ],
            "DROP STATISTICS reports_send_moment",
        ),
    ]
