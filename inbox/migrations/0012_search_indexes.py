"""Indexes for searching conversations (inbox.search): full text over the conversation's title and
username, the contact's names and username, and notes; trigrams over the contact's phone digits."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    (
        "inbox_conversation_name_search",
        "inbox_conversation USING gin (to_tsvector('simple'::regconfig, title || ' ' || username))",
    ),
    (
        "inbox_contact_name_search",
        "inbox_contact USING gin "
        "(to_tsvector('simple'::regconfig, first_name || ' ' || last_name || ' ' || username))",
    ),
    (
        "inbox_contact_phone_digits",
        "inbox_contact USING gin (regexp_replace(phone, '[^0-9]', '', 'g') gin_trgm_ops)",
    ),
    ("inbox_note_text_search", "inbox_note USING gin (to_tsvector('simple'::regconfig, text))"),
]


class Migration(migrations.Migration):
    dependencies = [("inbox", "0011_opt_outs_and_campaign_origin")]

    operations = [
        TrigramExtension(),
        *(
            migrations.RunSQL(f"CREATE INDEX {name} ON {body}", f"DROP INDEX {name}")
            for name, body in INDEXES
        ),
    ]
