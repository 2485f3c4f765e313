"""Reads for the inbox: which conversations a user may see, the filtered list, a conversation's history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import Account
from crm.parsing import parse_id, parse_page
from inbox.models import CannedReply, Contact, Conversation, Label, MediaFile, Message
from inbox.search import Search

PAGE_SIZE = 50
HISTORY_PAGE = 40
SINCE_LIMIT = 200  # messages one "everything since" refresh returns at most


@dataclass(frozen=True)
class Filters:
    """The list's filters, parsed once from the query string (unknown values are ignored)."""

    q: str = ""
    account: int | None = None
    unread: bool = False
    who: str = ""  # "", "mine", "unassigned"
    label: int | None = None
    kind: str = ""  # "", "private", "group", "channel"
    state: str = "open"  # "open", "closed", "snoozed", "outreach" (a campaign wrote, no answer yet), "all"
    page: int = 1
    assignee: int | None = None  # a user's id (the API's filter; the page has "mine")
    campaign: int | None = None  # people who answered this campaign (in conversations it started)
    opt_out: bool = False  # conversations flagged for opt-out words

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(
            q=query.get("q", "").replace("\x00", "").strip()[:200],  # PostgreSQL refuses NUL even in a search
            account=parse_id(query.get("account")),
            unread=query.get("unread") in ("1", "on", "true"),
            who=query.get("who", "") if query.get("who") in ("mine", "unassigned") else "",
            label=parse_id(query.get("label")),
            kind=query.get("kind", "") if query.get("kind") in Conversation.Kind.values else "",
            state=query.get("state", "open")
            if query.get("state") in (*Conversation.State.values, "outreach", "all")
            else "open",
            page=parse_page(query.get("page")),
            campaign=parse_id(query.get("campaign")),
            opt_out=query.get("opt_out") in ("1", "on", "true"),
        )

    def to_query(self) -> str:
        """The page's filters as a query string, in one order, without defaults, the page or the API's
        assignee: what a saved view stores, and what tells two views apart."""
        pairs = [
            ("q", self.q),
            ("state", self.state if self.state != "open" else ""),
            ("who", self.who),
            ("kind", self.kind),
            ("account", self.account or ""),
            ("label", self.label or ""),
            ("campaign", self.campaign or ""),
            ("unread", "1" if self.unread else ""),
            ("opt_out", "1" if self.opt_out else ""),
        ]
        return urlencode([(key, value) for key, value in pairs if value])


def filters_checked(*, user: Any, filters: Filters) -> tuple[Filters, list[str]]:
    """The filters without the values this user can no longer use (a deleted label, an account no
    longer granted, a campaign none of their conversations came from), and why each was dropped."""
    dropped: dict[str, Any] = {}
    why = []
    if filters.account and not accounts_visible(user=user).filter(pk=filters.account).exists():
        dropped["account"] = None
        why.append("its account is not one you may see")
    if filters.label and not Label.objects.filter(pk=filters.label).exists():
        dropped["label"] = None
        why.append("its label was deleted")
    came = conversations_visible(user=user).filter(campaign_id=filters.campaign)
    if filters.campaign and not came.exists():
        dropped["campaign"] = None
        why.append("none of your conversations came from its campaign")
    return replace(filters, **dropped), why


def conversation_count(*, user: Any, filters: Filters, cap: int) -> int:
    """How many conversations the filters show the user, counted to ``cap`` + 1 at most (a saved view's
    badge says "999+" rather than count a hundred thousand rows on every refresh)."""
    rows = conversations_filter(rows=conversations_visible(user=user), filters=filters, user=user)
    return rows.order_by()[: cap + 1].count()


def accounts_visible(*, user: Any) -> QuerySet[Account]:
    """Admins see every account; operators only the accounts granted to them."""
    if getattr(user, "is_admin", False):
        return Account.objects.all()
    return Account.objects.filter(operators=user)


def conversations_visible(*, user: Any) -> QuerySet[Conversation]:
    if getattr(user, "is_admin", False):
        return Conversation.objects.all()
    return Conversation.objects.filter(account__operators=user)


def contacts_visible(*, user: Any) -> QuerySet[Contact]:
    """Admins see every contact; operators those with a conversation on an account granted to them."""
    if getattr(user, "is_admin", False):
        return Contact.objects.all()
    met = Conversation.objects.filter(contact=OuterRef("pk"), account__operators=user)
    return Contact.objects.filter(Exists(met))


def conversation_get(*, user: Any, conversation_id: int) -> Conversation:
    """The conversation if the user may see it; 404 otherwise (its existence is not revealed)."""
    conversation = (
        conversations_visible(user=user)
        .select_related("account", "contact", "assignee", "automation_paused_by")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation")
    return conversation


def conversation_list(*, user: Any, filters: Filters) -> tuple[list[Conversation], bool]:
    """One page of the user's conversations, newest activity first; returns (rows, has_next)."""
    rows = conversations_filter(rows=conversations_visible(user=user), filters=filters, user=user)
    start = (filters.page - 1) * PAGE_SIZE
    page = list(rows[start : start + PAGE_SIZE + 1])
    return page[:PAGE_SIZE], len(page) > PAGE_SIZE


def conversations_filter(
    *, rows: QuerySet[Conversation], filters: Filters, user: Any = None
) -> QuerySet[Conversation]:
    """The conversations among ``rows`` that pass the filters, newest activity first (the inbox page and
    the API share it; "mine" needs a user, the API names an assignee instead)."""
    rows = rows.filter(last_message_at__isnull=False)
    if filters.account:
        rows = rows.filter(account_id=filters.account)
    if filters.unread:
        rows = rows.filter(unread_count__gt=0)
    if filters.who == "mine":
        rows = rows.filter(assignee=user)
    elif filters.who == "unassigned":
        rows = rows.filter(assignee__isnull=True)
    if filters.assignee:
        rows = rows.filter(assignee_id=filters.assignee)
    if filters.label:
        rows = rows.filter(labels__id=filters.label)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.campaign:
        rows = rows.filter(campaign_id=filters.campaign, outreach_pending=False)
    if filters.opt_out:
        rows = rows.exclude(opt_out_flag="")
    if filters.state == "open":
        # A snooze that ran out counts as open again. A campaign's message alone is not work for the
        # team: the conversation joins the queue with the person's answer.
        rows = rows.filter(Q(state="open") | Q(state="snoozed", snoozed_until__lte=timezone.now()))
        rows = rows.filter(outreach_pending=False)
    elif filters.state == "outreach":
        rows = rows.filter(outreach_pending=True)
    elif filters.state != "all":
        rows = rows.filter(state=filters.state)
    order = ["-last_message_at", "-id"]
    if filters.q:
        search = Search.parse(filters.q)
        if search is None:
            return rows.none()
        rows = rows.filter(search.matches()).annotate(search_rank=search.rank())
        order.insert(0, "-search_rank")
    return rows.select_related("account", "assignee").prefetch_related("labels").order_by(*order)


def campaigns_answered(*, user: Any) -> list[tuple[int, str]]:
    """(id, name) of the campaigns that started conversations the user sees and someone answered: the
    choices of the "Replied to campaign" filter."""
    rows = (
        conversations_visible(user=user)
        .filter(campaign_id__isnull=False, outreach_pending=False)
        .values_list("campaign_id", "campaign_name")
        .distinct()
        .order_by("campaign_name", "campaign_id")
    )
    names: dict[int, str] = {}
    for campaign_id, name in rows:
        if campaign_id is not None:
            names.setdefault(campaign_id, name)  # the name one send recorded; renames show either
    return sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))


def history(
    *,
    conversation: Conversation,
    before: int | None = None,
    since: int | None = None,
    limit: int = HISTORY_PAGE,
) -> tuple[list[Message], bool]:
    """Messages oldest first: the latest page (``limit`` messages), the page before message ``before``,
    or all from message ``since`` on (what an open pane refreshes; the newest SINCE_LIMIT of them).
    Returns (messages, has_older)."""
    messages = conversation.messages.select_related("sent_by").annotate(
        has_file=Exists(MediaFile.objects.filter(message=OuterRef("pk")))
    )
    if since is not None:
        anchor = messages.filter(pk=since).values_list("date", flat=True).first()
        if anchor is not None:
            # Bounded: an old (or forged) anchor must not read the whole conversation; past the cap the
            # pane gets the newest SINCE_LIMIT and scrolls back for the rest like any other page.
            newer = messages.filter(Q(date__gt=anchor) | Q(date=anchor, id__gte=since))
            rows = list(newer.order_by("-date", "-id")[: SINCE_LIMIT + 1])
            has_older = (
                len(rows) > SINCE_LIMIT
                or messages.filter(Q(date__lt=anchor) | Q(date=anchor, id__lt=since)).exists()
            )
            return _with_quotes(conversation, rows[:SINCE_LIMIT][::-1]), has_older
    if before is not None:
        anchor = messages.filter(pk=before).values_list("date", flat=True).first()
        if anchor is not None:
            messages = messages.filter(Q(date__lt=anchor) | Q(date=anchor, id__lt=before))
    page = list(messages.order_by("-date", "-id")[: limit + 1])
    return _with_quotes(conversation, page[:limit][::-1]), len(page) > limit


def _with_quotes(conversation: Conversation, rows: list[Any]) -> list[Any]:
    """Give replies the text they answer (``reply_preview``), in one query."""
    wanted = {m.reply_to_id for m in rows if m.reply_to_id}
    if wanted:
        quoted = dict(conversation.messages.filter(telegram_id__in=wanted).values_list("telegram_id", "text"))
        for m in rows:
            m.reply_preview = quoted.get(m.reply_to_id, "")  # type: ignore[attr-defined]
    return rows


def assignees(*, conversation: Conversation) -> QuerySet[Any]:
    """Who may be assigned: admins and the operators granted this conversation's account."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(role="admin") | Q(granted_accounts=conversation.account_id))
        .distinct()
        .order_by("username")
    )


def user_active(*, user_id: Any) -> Any:
    """The active user of a form's id ("9999…", "-1", NUL: None, like a user that does not exist)."""
    pk = parse_id(user_id)
    return None if pk is None else get_user_model().objects.filter(pk=pk, is_active=True).first()


def assignees_any(*, user: Any) -> QuerySet[Any]:
    """Whom a bulk assignment may name: admins and the operators granted any account the user sees
    (each conversation still checks its own account)."""
    user_model = get_user_model()
    accounts = accounts_visible(user=user).values("pk")
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(role="admin") | Q(granted_accounts__in=accounts))
        .distinct()
        .order_by("username")
    )


def labels_all() -> QuerySet[Label]:
    return Label.objects.order_by("name")


def canned_all() -> QuerySet[CannedReply]:
    return CannedReply.objects.order_by("shortcut")


def unread_total(*, user: Any) -> int:
    total = conversations_visible(user=user).aggregate(n=Sum("unread_count"))["n"]
    return int(total or 0)
