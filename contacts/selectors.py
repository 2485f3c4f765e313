"""Reads about people: which contacts a user may see, the contacts page's filtered list, and everything
the contact panel shows. Operators see a person only through the accounts granted to them: a contact
they met through a granted account, and of that contact only the conversations, labels and campaign
sends of those accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from contacts.models import CustomField, FieldValue
from crm.parsing import parse_id, parse_page
from inbox.models import Contact, Conversation, Label
from inbox.search import Search
from inbox.selectors import accounts_visible, contacts_visible, conversations_visible
from outreach.models import Recipient

PAGE_SIZE = 50


@dataclass(frozen=True)
class ContactFilters:
    """The contacts page's filters, parsed once from the query string (unknown values are ignored)."""

    q: str = ""
    account: int | None = None
    label: int | None = None
    opted_out: str = ""  # "", "yes", "no"
    replied: bool = False  # replied to a campaign
    field: int | None = None  # a custom field's id …
    value: str = ""  # … and the value it must hold
    page: int = 1

    @classmethod
    def from_query(cls, query: Any) -> ContactFilters:
        return cls(
            q=query.get("q", "").replace("\x00", "").strip()[:200],
            account=parse_id(query.get("account")),
            label=parse_id(query.get("label")),
            opted_out=query.get("opted_out", "") if query.get("opted_out") in ("yes", "no") else "",
            replied=query.get("replied") in ("1", "on", "true"),
            field=parse_id(query.get("field")),
            value=query.get("value", "").replace("\x00", "").strip()[:500],
            page=parse_page(query.get("page")),
        )

    def query_without_page(self) -> str:
        pairs = {
            "q": self.q,
            "account": self.account or "",
            "label": self.label or "",
            "opted_out": self.opted_out,
            "replied": "1" if self.replied else "",
            "field": self.field or "",
            "value": self.value if self.field else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def recipients_visible(*, user: Any) -> QuerySet[Recipient]:
    """Campaign recipients whose sender account the user sees (admins: all, even before a sender)."""
    if getattr(user, "is_admin", False):
        return Recipient.objects.all()
    return Recipient.objects.filter(account__operators=user)


def contact_get(*, user: Any, contact_id: int) -> Contact:
    """The contact if the user may see them; 404 otherwise (their existence is not revealed)."""
    contact = contacts_visible(user=user).filter(pk=contact_id).first()
    if contact is None:
        raise Http404("No such contact")
    return contact


def contacts_filter(*, user: Any, filters: ContactFilters) -> QuerySet[Contact]:
    """The visible contacts that pass the filters, newest first (the page and the CSV export share it)."""
    rows = contacts_visible(user=user)
    if filters.account or filters.label:
        talks = conversations_visible(user=user).filter(contact=OuterRef("pk"))
        if filters.account:
            talks = talks.filter(account_id=filters.account)
        if filters.label:
            talks = talks.filter(labels__id=filters.label)
        rows = rows.filter(Exists(talks))
    if filters.opted_out:
        rows = rows.filter(opted_out=filters.opted_out == "yes")
    if filters.replied:
        replied = recipients_visible(user=user).filter(contact=OuterRef("pk"), replied_at__isnull=False)
        rows = rows.filter(Exists(replied))
    if filters.field:
        values = FieldValue.objects.filter(contact=OuterRef("pk"), field_id=filters.field)
        if filters.value:
            values = values.filter(value=filters.value)
        rows = rows.filter(Exists(values))
    if filters.q:
        search = Search.parse(filters.q)
        if search is None:
            return rows.none()
        rows = rows.filter(search.contact_matches())
    return rows.order_by("-id")


def contact_list(*, user: Any, filters: ContactFilters) -> tuple[list[Contact], bool]:
    """One page of contacts; returns (rows, has_next). No total count: at 50,000 people it costs more
    than the page itself."""
    start = (filters.page - 1) * PAGE_SIZE
    page = list(contacts_filter(user=user, filters=filters)[start : start + PAGE_SIZE + 1])
    return page[:PAGE_SIZE], len(page) > PAGE_SIZE


@dataclass
class FieldRow:
    """A custom field as the panel shows it: the field, the stored value, and a pending error."""

    field: CustomField
    value: str = ""
    error: str = ""
    typed: str = ""  # what was typed when it was refused, shown back


@dataclass
class Panel:
    contact: Contact
    conversations: list[Conversation]
    campaigns: list[Recipient]
    labels: list[Label]
    fields: list[FieldRow] = field(default_factory=list)


def contact_conversations(*, user: Any, contact: Contact) -> QuerySet[Conversation]:
    return conversations_visible(user=user).filter(contact=contact)


def field_rows(*, contact: Contact) -> list[FieldRow]:
    values = dict(FieldValue.objects.filter(contact=contact).values_list("field_id", "value"))
    return [FieldRow(field=f, value=values.get(f.pk, "")) for f in CustomField.objects.all()]


def contact_panel(*, user: Any, contact: Contact) -> Panel:
    """Everything the panel shows about a person, limited to what the user may see."""
    conversations = contact_conversations(user=user, contact=contact)
    return Panel(
        contact=contact,
        conversations=list(conversations.select_related("account").order_by("-last_message_at", "-id")),
        campaigns=list(
            recipients_visible(user=user)
            .filter(contact=contact)
            .select_related("campaign", "account")
            .order_by("-first_sent_at", "-id")
        ),
        labels=list(Label.objects.filter(conversations__in=conversations).distinct().order_by("name")),
        fields=field_rows(contact=contact),
    )


def field_values_of(*, contact_ids: list[int]) -> dict[int, dict[int, str]]:
    """{contact id: {field id: value}} for a batch of contacts (the CSV export)."""
    found: dict[int, dict[int, str]] = {}
    rows = FieldValue.objects.filter(contact_id__in=contact_ids).values_list(
        "contact_id", "field_id", "value"
    )
    for contact_id, field_id, value in rows:
        found.setdefault(contact_id, {})[field_id] = value
    return found


def filter_choices(*, user: Any) -> dict[str, Any]:
    """What the contacts page's filter menus offer."""
    return {
        "accounts": list(accounts_visible(user=user).order_by("id")),
        "labels": list(Label.objects.order_by("name")),
        "fields": list(CustomField.objects.all()),
    }
