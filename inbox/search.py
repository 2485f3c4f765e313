"""Searching conversations the way a CRM user types: a customer's name, an @username, a few digits of a
phone number, words from a note or a message — matched at word beginnings ("gra hop" finds Grace Hopper)
and ranked: the person's name, username or phone first, then notes, then message text, newest first
within each.

Each part is served by an index (migration inbox 0012): full-text GIN indexes over the conversation's
title and username, the contact's names and username, notes and messages (the ``simple`` configuration:
no stemming, any language), and a trigram index over the contact's phone digits. The expressions below
must stay exactly those of the indexes, or PostgreSQL reads every row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Case, Q, Value, When
from django.db.models.expressions import RawSQL

MAX_WORDS = 8
# Message text is the big table: a prefix shorter than this would match a large part of it, so a word that
# short matches whole words there (names and notes still take it as a beginning).
MESSAGE_PREFIX_MIN = 3
PHONE_DIGITS_MIN = 4

NAMES = """
    SELECT id FROM inbox_conversation
    WHERE to_tsvector('simple'::regconfig, title || ' ' || username) @@ to_tsquery('simple'::regconfig, %s)
    UNION
    SELECT c.id FROM inbox_conversation c JOIN inbox_contact p ON p.id = c.contact_id
    WHERE to_tsvector('simple'::regconfig, p.first_name || ' ' || p.last_name || ' ' || p.username)
          @@ to_tsquery('simple'::regconfig, %s)
"""
PHONES = """
    SELECT c.id FROM inbox_conversation c JOIN inbox_contact p ON p.id = c.contact_id
    WHERE regexp_replace(p.phone, '[^0-9]', '', 'g') LIKE %s
"""
NOTES = """
    SELECT conversation_id FROM inbox_note
    WHERE to_tsvector('simple'::regconfig, text) @@ to_tsquery('simple'::regconfig, %s)
"""
# The same expressions over contacts alone, for the contacts page (served by the same two indexes).
# OFFSET 0 keeps PostgreSQL from merging the search into the newest-first walk over contacts, a plan that
# computes every contact's tsvector when few match (200 ms at 50,000 people instead of 4 ms).
CONTACT_NAMES = """
    SELECT id FROM inbox_contact
    WHERE to_tsvector('simple'::regconfig, first_name || ' ' || last_name || ' ' || username)
          @@ to_tsquery('simple'::regconfig, %s)
    OFFSET 0
"""
CONTACT_PHONES = """
    SELECT id FROM inbox_contact WHERE regexp_replace(phone, '[^0-9]', '', 'g') LIKE %s OFFSET 0
"""
# OFFSET 0 keeps PostgreSQL from folding the search into the newest-first walk over conversations, a plan
# that reads every conversation's messages when few match.
MESSAGES = """
    SELECT conversation_id FROM inbox_message
    WHERE to_tsvector('simple'::regconfig, COALESCE(text, '')) @@ to_tsquery('simple'::regconfig, %s)
    OFFSET 0
"""


@dataclass(frozen=True)
class Search:
    """One search, parsed: the tsquery for names and notes, the one for message text, phone digits."""

    words: str  # every word as a beginning: 'gra':* & 'hop':*
    message_words: str  # short words whole
    digits: str  # "" unless the search looks like part of a phone number

    @classmethod
    def parse(cls, text: str) -> Search | None:
        """None when the text has nothing to search for (only punctuation, say)."""
        words = [w.strip("_") for w in re.findall(r"\w+", text.lower())]
        words = [w for w in words if w][:MAX_WORDS]
        if not words:
            return None
        # Each word is a quoted lexeme: nothing the user types is read as tsquery syntax.
        quoted = ["'" + w.replace("'", "''") + "'" for w in words]
        digits = re.sub(r"\D", "", text) if re.fullmatch(r"[\d\s+()./-]+", text.strip()) else ""
        return cls(
            words=" & ".join(f"{q}:*" for q in quoted),
            message_words=" & ".join(
                f"{q}:*" if len(w) >= MESSAGE_PREFIX_MIN else q for q, w in zip(quoted, words, strict=True)
            ),
            digits=digits if len(digits) >= PHONE_DIGITS_MIN else "",
        )

    def _names(self) -> Q:
        found = Q(id__in=RawSQL(NAMES, [self.words, self.words]))  # noqa: S611 - parameters
        if self.digits:
            found |= Q(id__in=RawSQL(PHONES, [f"%{self.digits}%"]))  # noqa: S611 - a parameter
        return found

    def _notes(self) -> Q:
        return Q(id__in=RawSQL(NOTES, [self.words]))  # noqa: S611 - a parameter

    def matches(self) -> Q:
        """Conversations whose person, notes or messages match."""
        messages = Q(id__in=RawSQL(MESSAGES, [self.message_words]))  # noqa: S611 - a parameter
        return self._names() | self._notes() | messages

    def contact_matches(self) -> Q:
        """Contacts whose names, @username or phone digits match (for ``Contact`` querysets)."""
        found = Q(id__in=RawSQL(CONTACT_NAMES, [self.words]))  # noqa: S611 - a parameter
        if self.digits:
            found |= Q(id__in=RawSQL(CONTACT_PHONES, [f"%{self.digits}%"]))  # noqa: S611 - a parameter
        return found

    def rank(self) -> Case:
        """2 for a match on the person, 1 on a note, 0 on message text only."""
        return Case(When(self._names(), then=Value(2)), When(self._notes(), then=Value(1)), default=Value(0))
