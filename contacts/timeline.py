"""One activity timeline per person: what happened with them across every conversation the user may see.

The timeline is a list of sources, each a function ``(user, contact, limit) -> list[Entry]`` returning
that source's newest ``limit`` entries; ``timeline()`` merges them newest first. Deal stage changes come
from the pipeline; a new kind of activity (tasks, once they exist) joins by appending one function to
``SOURCES``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contacts.selectors import contact_conversations, recipients_visible
from inbox.models import Contact, Conversation, Message, Note
from pipeline import selectors as pipeline_selectors

PANEL_LIMIT = 20
PAGE_LIMIT = 200


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: (
        str  # "message_in", "message_out", "note", "opt_out", "opt_out_removed", "campaign", "campaign_reply"
    )
    text: str
    conversation: Conversation | None = None
    who: str = ""  # the operator, campaign or account behind it


Source = Callable[[Any, Contact, int], list[Entry]]


def _messages(user: Any, contact: Contact, limit: int) -> list[Entry]:
    # Each conversation's newest messages from its history index, merged here: a person has a handful
    # of conversations, and one query over all of them ordered by date can walk the whole table's date
    # index when the person's last words are old.
    entries: list[Entry] = []
    for conversation in contact_conversations(user=user, contact=contact).select_related("account"):
        rows = Message.objects.filter(conversation=conversation, deleted=False).order_by("-date", "-id")
        entries += [
            Entry(
                at=m.date,
                kind=f"message_{m.direction}",
                text=m.text or (m.get_media_kind_display() if m.media_kind else ""),
                conversation=conversation,
                who=m.campaign_name or conversation.account.display_name,
            )
            for m in rows[:limit]
        ]
    return entries


def _notes(user: Any, contact: Contact, limit: int) -> list[Entry]:
    rows = (
        Note.objects.filter(conversation__in=contact_conversations(user=user, contact=contact))
        .select_related("author", "conversation")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        Entry(at=n.created_at, kind="note", text=n.text, conversation=n.conversation, who=_name(n.author))
        for n in rows
    ]


def _opt_outs(user: Any, contact: Contact, limit: int) -> list[Entry]:
    # Opting out concerns the person, not an account: every user who sees the person sees it.
    entries: list[Entry] = []
    for o in contact.opt_outs.select_related("created_by", "removed_by").order_by("-created_at")[:limit]:
        entries.append(Entry(at=o.created_at, kind="opt_out", text=o.reason, who=_name(o.created_by)))
        if o.removed_at:
            entries.append(Entry(at=o.removed_at, kind="opt_out_removed", text="", who=_name(o.removed_by)))
    return entries


def _campaigns(user: Any, contact: Contact, limit: int) -> list[Entry]:
    entries: list[Entry] = []
    rows = recipients_visible(user=user).filter(contact=contact, first_sent_at__isnull=False)
    for r in rows.select_related("campaign").order_by("-first_sent_at")[:limit]:
        if r.first_sent_at is None:  # filtered out above; for the type checker
            continue
        entries.append(Entry(at=r.first_sent_at, kind="campaign", text=r.campaign.name, who=r.campaign.name))
        if r.replied_at:
            entries.append(
                Entry(at=r.replied_at, kind="campaign_reply", text=r.campaign.name, who=r.campaign.name)
            )
    return entries


def _stage_changes(user: Any, contact: Contact, limit: int) -> list[Entry]:
    # Deal creations and stage moves, as the pipeline words them (it checks what the user may see).
    changes = pipeline_selectors.timeline_entries(contact.pk, user)[:limit]
    return [Entry(at=c.at, kind=c.kind, text=c.text, who=c.by) for c in changes]


def _name(user: Any) -> str:
    return user.get_username() if user is not None else ""


SOURCES: list[Source] = [_messages, _notes, _opt_outs, _campaigns, _stage_changes]


def timeline(*, user: Any, contact: Contact, limit: int = PANEL_LIMIT) -> list[Entry]:
    """The newest ``limit`` entries of every source, newest first."""
    entries = [entry for source in SOURCES for entry in source(user, contact, limit)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
