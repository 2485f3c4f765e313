"""Writes of the pipeline: stages (admins) and deals (whoever sees the contact). Every bad value raises
PipelineError with a sentence the page shows as it is."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from crm.parsing import text_problem
from inbox.models import Contact
from pipeline.models import VALUE_DIGITS, VALUE_PLACES, Deal, DealMove, Stage

MAX_VALUE = Decimal(10 ** (VALUE_DIGITS - VALUE_PLACES)) - Decimal("0.01")
CURRENCY = re.compile(r"[A-Z]{3}")
# What a person types as an amount: digits, thousands separated by "," or spaces, a decimal point. The
# length is checked before Decimal() sees it: Decimal takes 5,000 digits (and "NaN", "Infinity", "1e999").
_AMOUNT = re.compile(r"[0-9][0-9, ]*(?:\.[0-9]+)?|\.[0-9]+")
MAX_AMOUNT_CHARS = 40


class PipelineError(ValueError):
    """A change the pipeline refuses, with the reason a person can act on."""


class DealMoved(PipelineError):
    """The deal left the stage the mover saw it in (someone else moved it meanwhile)."""

    def __init__(self, deal: Deal) -> None:
        self.deal = deal
        super().__init__(
            f"“{deal.title}” was moved to {deal.stage.name} meanwhile; nothing was changed — "
            "look at the board again and move it from there if you still want to"
        )


def value_parse(text: str) -> Decimal:
    """An amount typed in a form: "1500", "1,500.50", "1 500" → Decimal; anything else is refused."""
    text = text.strip()
    if not text:
        return Decimal(0)
    if text.startswith("-"):
        raise PipelineError("The value cannot be negative")
    if len(text) > MAX_AMOUNT_CHARS or not _AMOUNT.fullmatch(text):
        raise PipelineError("Write the value as a plain amount, like 1500 or 1,500.50")
    return value_check(Decimal(text.replace(",", "").replace(" ", "")))


def value_check(value: Decimal) -> Decimal:
    """The value rounded to cents if a deal can hold it, else PipelineError."""
    try:
        if not value.is_finite():
            raise PipelineError("The value must be a number (not NaN or infinity)")
        if value < 0:
            raise PipelineError("The value cannot be negative")
        if value > MAX_VALUE:
            raise PipelineError(f"The value is too large (at most {MAX_VALUE:,})")
        return value.quantize(Decimal("0.01"))
    except InvalidOperation as problem:  # quantize past the context's precision
        raise PipelineError("The value is not an amount a deal can hold") from problem


def _text(text: str, *, what: str, max_length: int) -> str:
    text = text.strip()
    if problem := text_problem(text, max_length=max_length):
        raise PipelineError(f"{what}: {problem}")
    if not text:
        raise PipelineError(f"Give the {what.lower()}")
    return text


def _currency(text: str) -> str:
    code = text.strip().upper()
    if not CURRENCY.fullmatch(code):
        raise PipelineError("A currency is three letters, like USD or EUR")
    return code


# Stages -------------------------------------------------------------------------------------------


def stage_create(*, name: str, kind: str = Stage.Kind.OPEN) -> Stage:
    """A new stage at the end of the board."""
    name = _stage_name(name)
    if kind not in Stage.Kind.values:
        raise PipelineError("A stage is open, won or lost")
    with transaction.atomic():
        list(Stage.objects.select_for_update().values_list("id"))  # one writer renumbers at a time
        last = Stage.objects.aggregate(last=Max("position"))["last"]
        return Stage.objects.create(name=name, kind=kind, position=0 if last is None else last + 1)


def _stage_name(name: str, *, exclude: int | None = None) -> str:
    name = _text(name, what="Stage name", max_length=60)
    taken = Stage.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise PipelineError(f"There is a stage “{name}” already")
    return name


def stage_update(*, stage: Stage, name: str, kind: str) -> Stage:
    """Rename a stage or change its kind. Its deals close (won/lost) or reopen with it; a reopening that
    would give a contact a second open deal is refused."""
    name = _stage_name(name, exclude=stage.pk)
    if kind not in Stage.Kind.values:
        raise PipelineError("A stage is open, won or lost")
    try:
        with transaction.atomic():
            if kind == Stage.Kind.OPEN:
                stage.deals.update(closed_at=None)
            else:
                stage.deals.filter(closed_at__isnull=True).update(closed_at=timezone.now())
            stage.name, stage.kind = name, kind
            stage.save(update_fields=["name", "kind"])
    except IntegrityError:
        stage.refresh_from_db()
        others = Deal.objects.filter(contact=OuterRef("contact"), closed_at__isnull=True).exclude(stage=stage)
        clashes = Deal.objects.filter(stage=stage).filter(Exists(others)).values("contact").distinct().count()
        raise PipelineError(
            f"“{stage.name}” cannot become an open stage: "
            + (
                f"{clashes} of its contacts {'has' if clashes == 1 else 'have'} another open deal already"
                if clashes
                else "some of its contacts have more than one deal in it"
            )
            + " (a contact has one open deal at a time)"
        ) from None
    return stage


def stage_shift(*, stage: Stage, by: int) -> None:
    """Move a stage one place left (-1) or right (+1) on the board."""
    with transaction.atomic():
        stages = list(Stage.objects.select_for_update().order_by("position", "id"))
        at = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
        to = at + by
        if not 0 <= to < len(stages):
            return
        stages[at], stages[to] = stages[to], stages[at]
        for position, row in enumerate(stages):
            if row.position != position:
                Stage.objects.filter(pk=row.pk).update(position=position)


def stage_delete(*, stage: Stage) -> None:
    """Delete an empty stage; a stage that holds deals is refused, naming how many."""
    with transaction.atomic():
        Stage.objects.select_for_update().filter(pk=stage.pk).first()
        count = Deal.objects.filter(stage=stage).count()
        if count:
            raise PipelineError(
                f"“{stage.name}” holds {count} deal{'s' if count != 1 else ''}; "
                "move {} to another stage first".format("it" if count == 1 else "them")
            )
        stage.delete()


# Deals --------------------------------------------------------------------------------------------


def deal_create(
    *,
    contact: Contact,
    title: str,
    value: Decimal,
    currency: str,
    owner: Any,
    expected_close: dt.date | None,
    stage: Stage | None,
    by: Any,
) -> Deal:
    """A deal for ``contact`` in ``stage`` (the first open stage when None), its creation recorded as its
    first move. A contact has one open deal at a time."""
    title = _text(title, what="Title", max_length=200)
    value, currency = value_check(value), _currency(currency)
    if stage is None:
        stage = Stage.objects.filter(kind=Stage.Kind.OPEN).first()
        if stage is None:
            raise PipelineError("There is no open stage yet: an admin adds stages under Settings → Stages")
    now = timezone.now()
    try:
        with transaction.atomic():
            deal = Deal.objects.create(
                contact=contact,
                title=title,
                value=value,
                currency=currency,
                owner=owner,
                expected_close=expected_close,
                stage=stage,
                closed_at=now if stage.is_closed else None,
                created_by=by,
                created_at=now,
                updated_at=now,
            )
            DealMove.objects.create(deal=deal, to_stage=stage, to_name=stage.name, by=by, at=now)
    except IntegrityError as error:  # at commit too: the stage's foreign key is checked there
        raise PipelineError(_refusal(error, contact)) from None
    return deal


def _refusal(error: IntegrityError, contact: Contact) -> str:
    """The sentence for a write the database refused: the contact's open deal, or a stage an admin
    deleted while the form was open (the foreign key)."""
    if "deal_one_open_per_contact" not in str(error):
        return "That stage was deleted meanwhile; pick another one"
    return _has_open_deal(contact)


def _has_open_deal(contact: Contact) -> str:
    open_deal = Deal.objects.filter(contact=contact, closed_at__isnull=True).first()
    title = f" (“{open_deal.title}”)" if open_deal else ""
    return (
        f"{contact.display_name} has an open deal already{title}: "
        "close it (won or lost) before starting another"
    )


def deal_update(
    *,
    deal: Deal,
    title: str,
    value: Decimal,
    currency: str,
    owner: Any,
    expected_close: dt.date | None,
) -> Deal:
    """Change what a deal says; its stage changes only through deal_move."""
    deal.title = _text(title, what="Title", max_length=200)
    deal.value, deal.currency = value_check(value), _currency(currency)
    deal.owner, deal.expected_close, deal.updated_at = owner, expected_close, timezone.now()
    deal.save(update_fields=["title", "value", "currency", "owner", "expected_close", "updated_at"])
    return deal


def deal_move(*, deal: Deal, from_stage_id: int, to_stage: Stage, by: Any) -> Deal:
    """Move ``deal`` from the stage the mover saw it in to ``to_stage`` and record the move.

    The update is conditional on the deal still being in ``from_stage_id``: two people dragging the same
    card, or a board left open for an hour, must not silently undo someone else's move (DealMoved)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            moved = Deal.objects.filter(pk=deal.pk, stage_id=from_stage_id).update(
                stage=to_stage, closed_at=now if to_stage.is_closed else None, updated_at=now
            )
            if not moved:
                fresh = Deal.objects.select_related("stage").filter(pk=deal.pk).first()
                if fresh is None:
                    raise PipelineError("That deal was deleted meanwhile")
                raise DealMoved(fresh)
            if from_stage_id != to_stage.pk:
                from_name = Stage.objects.filter(pk=from_stage_id).values_list("name", flat=True).first()
                DealMove.objects.create(
                    deal=deal,
                    from_stage_id=from_stage_id,
                    from_name=from_name or "",
                    to_stage=to_stage,
                    to_name=to_stage.name,
                    by=by,
                    at=now,
                )
    except IntegrityError as error:
        raise PipelineError(_refusal(error, deal.contact)) from None
    deal.refresh_from_db()
    return deal
