"""Reads for the API pages of the console: the keys and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from api.models import ApiKey, AuditEntry
from api.tools import TOOLS


def key_list() -> QuerySet[ApiKey]:
    """Every key, newest first, active and revoked alike (a revoked key's audit entries stay readable)."""
    return (
        ApiKey.objects.select_related("created_by")
        .prefetch_related("accounts")
        .order_by("-created_at", "-id")
    )


def audited_tools() -> list[str]:
    """The tools an audit entry can name: every write tool, and any tool already in the log."""
    writes = {name for name, spec in TOOLS.items() if not spec.read_only}
    logged = set(AuditEntry.objects.values_list("tool", flat=True).distinct())
    return sorted(writes | logged)


@dataclass(frozen=True)
class AuditFilters:
    key_id: int | None = None
    tool: str = ""


def audit_list(*, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The audit log, latest first, narrowed to one key and one tool when asked."""
    entries = AuditEntry.objects.select_related("account").order_by("-at", "-id")
    if filters.key_id is not None:
        entries = entries.filter(key_id=filters.key_id)
    if filters.tool:
        entries = entries.filter(tool=filters.tool)
    return entries
