"""Forgetting old rows (operations, judgements, hook calls, webhook events) without long locks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def delete_in_batches(rows: QuerySet[Any], *, batch: int) -> int:
    """Delete ``rows`` ``batch`` at a time, each batch its own short statement (with what cascades from
    it); returns how many of ``rows`` were deleted."""
    deleted = 0
    while ids := list(rows.values_list("pk", flat=True)[:batch]):
        rows.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
