"""Bulk actions on conversations: assign, add or remove a label, close, reopen — each a loop over the
single-conversation service (inbox.services), so one rule holds whether an operator acts on one
conversation or on a thousand.

Ids come from the browser and are not trusted: an id that is not a number, names no conversation, or
names one the user may not see is skipped as "no access" (never applied, and its existence is not
revealed). Every conversation changes in its own transaction (one lock at a time, as a single action
takes it: a long transaction holding hundreds of row locks would deadlock against ingestion), and the
open inboxes hear of it once, at the end (inbox.live.batched).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from crm.parsing import MAX_IDS, parse_id
from inbox import live, notify, selectors, services
from inbox.models import Conversation, Label

LIMIT = MAX_IDS  # conversations one request may name
# "Select all in this view" acts on this many at a time: every conversation changes in its own
# transaction (with its reporting event), a few milliseconds each, and one request must stay short.
VIEW_BATCH = 200
MORE_CAP = 10_000  # "more in this view" is counted to here
REFUSALS_SHOWN = 20  # conversations a result names one by one (the rest are counted)


@dataclass
class BulkResult:
    """What a bulk action did, for the sentence the operator reads: "12 closed, 2 skipped (no access)"."""

    verb: str  # what happened to the changed ones: "closed", "assigned to otto", …
    unchanged_as: str  # what the unchanged ones already were: "already closed", …
    done: int = 0
    unchanged: int = 0
    no_access: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (conversation, why) per refusal
    more: int = 0  # conversations of the view still to do ("select all in this view" goes in batches)

    def summary(self) -> str:
        parts = [f"{self.done:,} {self.verb}"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} {self.unchanged_as}")
        if self.refused:
            parts.append(f"{len(self.refused):,} refused")
        if self.no_access:
            parts.append(f"{self.no_access:,} skipped (no access)")
        sentence = ", ".join(parts)
        if self.more:
            sentence += f"; {self.more:,}{'+' if self.more > MORE_CAP else ''} more in this view: apply again"
        return sentence

    def refusals(self) -> list[str]:
        """One line per refused conversation (the first REFUSALS_SHOWN), then how many more."""
        lines = [f"{title}: {why}" for title, why in self.refused[:REFUSALS_SHOWN]]
        if len(self.refused) > REFUSALS_SHOWN:
            lines.append(f"… and {len(self.refused) - REFUSALS_SHOWN:,} more")
        return lines


def bulk_close(*, by: Any, ids: Iterable[Any]) -> BulkResult:
    """Close the conversations of ``ids`` the user may see."""
    result = BulkResult(verb="closed", unchanged_as="already closed")
    return _each(by, ids, result, lambda c: _set_state(c, Conversation.State.CLOSED, by))


def bulk_reopen(*, by: Any, ids: Iterable[Any]) -> BulkResult:
    """Reopen the conversations of ``ids`` the user may see (closed or snoozed ones)."""
    result = BulkResult(verb="reopened", unchanged_as="already open")
    return _each(by, ids, result, lambda c: _set_state(c, Conversation.State.OPEN, by))


def bulk_assign(*, by: Any, ids: Iterable[Any], assignee: Any) -> BulkResult:
    """Assign the conversations to ``assignee`` (None: unassign). A conversation whose account the
    assignee may not see is refused, with the reason, and the others are assigned."""
    if assignee is None:
        result = BulkResult(verb="unassigned", unchanged_as="already unassigned")
    else:
        name = assignee.get_username()
        result = BulkResult(verb=f"assigned to {name}", unchanged_as=f"already assigned to {name}")

    given: list[Conversation] = []

    def assign(conversation: Conversation) -> bool:
        changed = services.conversation_assign(
            conversation=conversation, assignee=assignee, by=by, tell=False
        )
        if changed:
            given.append(conversation)
        return changed

    _each(by, ids, result, assign)
    notify.bulk_assigned_notify(conversations=given, assignee=assignee, by=by)
    return result


def bulk_label(*, by: Any, ids: Iterable[Any], label: Label, add: bool) -> BulkResult:
    """Add the label to the conversations (``add``), or remove it from them."""
    if add:
        result = BulkResult(verb=f"labelled “{label.name}”", unchanged_as="already had it")
    else:
        result = BulkResult(verb=f"no longer labelled “{label.name}”", unchanged_as="did not have it")

    def change(conversation: Conversation) -> bool:
        labels = {"add": [label]} if add else {"remove": [label]}
        return services.conversation_labels_change(conversation=conversation, by=by, **labels)

    return _each(by, ids, result, change)


def view_pending(
    *, user: Any, filters: selectors.Filters, action: str, assignee: Any = None, label: Label | None = None
) -> QuerySet[Conversation]:
    """The conversations of a view (the filters, as the user sees them) that the action would still
    change, newest first. "Select all in this view" acts on the first VIEW_BATCH of them, so pressing
    again goes on where the last press stopped, however the action changes the view."""
    rows = selectors.conversations_filter(
        rows=selectors.conversations_visible(user=user), filters=filters, user=user
    )
    if action == "close":
        return rows.exclude(state=Conversation.State.CLOSED)
    if action == "reopen":
        return rows.exclude(state=Conversation.State.OPEN)
    if action == "assign" and assignee is None:
        return rows.filter(assignee__isnull=False)
    if action == "assign":
        rows = rows.exclude(assignee=assignee)
        # Only conversations the assignee may take: refusals would otherwise come first on every press.
        return rows if getattr(assignee, "is_admin", False) else rows.filter(account__operators=assignee)
    if action == "label_add" and label is not None:
        return rows.exclude(labels=label)
    if action == "label_remove" and label is not None:
        return rows.filter(labels=label)
    return rows.none()


def _set_state(conversation: Conversation, state: str, by: Any) -> bool:
    return services.conversation_set_state(conversation=conversation, state=state, by=by)


def _each(
    by: Any, ids: Iterable[Any], result: BulkResult, apply: Callable[[Conversation], bool]
) -> BulkResult:
    raw = list(ids)
    if len(raw) > LIMIT:
        raise ValueError(f"Select at most {LIMIT:,} conversations at a time")
    parsed = {value: parse_id(value) for value in map(str, raw)}
    wanted = {number for number in parsed.values() if number is not None}
    conversations = list(
        selectors.conversations_visible(user=by)
        .filter(pk__in=wanted)
        .select_related("account")
        .order_by("id")  # the order every bulk action takes its row locks in
    )
    not_ids = sum(1 for number in parsed.values() if number is None)
    result.no_access = not_ids + len(wanted) - len(conversations)
    with live.batched():
        for conversation in conversations:
            try:
                changed = apply(conversation)
            except ValueError as refusal:
                result.refused.append((conversation.title or str(conversation.peer_id), str(refusal)))
                continue
            if changed:
                result.done += 1
            else:
                result.unchanged += 1
    return result
