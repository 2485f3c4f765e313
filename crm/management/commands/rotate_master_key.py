"""Re-wrap every sealed blob under the primary master key (the first id in SWITCHBOARD_MASTER_KEYS).

Rotation, step by step: put the new key first and keep the old one after it, deploy, run this command,
run it with --check until it passes, then drop the old id. Only the wrapped data keys change; the
ciphertexts stay as they are.

Each row is written with a conditional UPDATE that matches the blob (and version) as read, so a
session host saving a fresh session at the same moment always wins, and the row is simply re-read.
Every row commits on its own: a run killed midway loses nothing, and running again finishes the job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from crm import vault

# A row rewritten by its owner this many times during one rotation attempt is left for the next run.
MAX_ATTEMPTS = 5


class Command(BaseCommand):
    help = "Re-wrap sealed secrets under the primary master key. Resumable; safe beside running hosts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count blobs per key id, change nothing")
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit non-zero if any blob is not under the primary key",
        )
        parser.add_argument("--batch-size", type=int, default=200, help="rows read per query (200)")

    def handle(self, *args: Any, dry_run: bool, check: bool, batch_size: int, **options: Any) -> None:
        try:
            primary_id, _ = vault.keyring().primary()
        except vault.VaultError as exc:
            raise CommandError(str(exc)) from None
        entries = vault.registered_fields()
        if check or dry_run:
            self._survey(entries, primary_id=primary_id, batch_size=batch_size, check=check)
            return
        tally: Counter[str] = Counter()
        for entry in entries:
            tally += self._rotate_field(entry, primary_id=primary_id, batch_size=batch_size)
        self.stdout.write(
            f"Done: {tally['rotated']} rotated to {primary_id!r}, {tally['current']} already there, "
            f"{tally['failed']} failed, {tally['conflict']} left busy."
        )
        if tally["failed"] or tally["conflict"]:
            raise CommandError("some blobs were not rotated (see above); fix them and run again")

    def _survey(
        self, entries: list[vault.SealedField], *, primary_id: str, batch_size: int, check: bool
    ) -> None:
        outstanding = 0
        for entry in entries:
            by_key: Counter[str] = Counter()
            for row in _walk(entry, batch_size=batch_size, only=[entry.field]):
                by_key[_key_label(getattr(row, entry.field))] += 1
            behind = sum(n for key, n in by_key.items() if key not in (primary_id, "(empty)"))
            outstanding += behind
            counts = ", ".join(f"{key}: {n}" for key, n in sorted(by_key.items())) or "no rows"
            self.stdout.write(f"{entry.label}: {counts}; {behind} to rotate")
        self.stdout.write(f"{outstanding} blobs not under the primary key {primary_id!r}.")
        if check and outstanding:
            raise CommandError(f"{outstanding} blobs are not under the primary key {primary_id!r}")

    def _rotate_field(self, entry: vault.SealedField, *, primary_id: str, batch_size: int) -> Counter[str]:
        total = _manager(entry).count()
        tally: Counter[str] = Counter()
        seen = 0
        for seen, row in enumerate(_walk(entry, batch_size=batch_size), start=1):
            tally[self._rotate_row(entry, row)] += 1
            if seen % batch_size == 0:
                self.stdout.write(f"{entry.label}: rotated {tally['rotated']} / {total}")
        self.stdout.write(
            f"{entry.label}: rotated {tally['rotated']} / {seen}; {tally['current']} already under "
            f"{primary_id!r}, {tally['empty']} empty, {tally['failed']} failed, {tally['conflict']} busy"
        )
        return tally

    def _rotate_row(self, entry: vault.SealedField, row: models.Model | None) -> str:
        for _ in range(MAX_ATTEMPTS):
            if row is None:
                return "gone"
            blob = getattr(row, entry.field)
            if not blob:
                return "empty"
            blob = bytes(blob)
            try:
                rewrapped = vault.rewrap(blob, context=entry.context(row))
            except vault.VaultError as exc:
                # The message names the failure and the row; it never carries key material.
                self.stderr.write(f"{entry.label} pk={row.pk}: {type(exc).__name__}: {exc}")
                return "failed"
            if rewrapped is None:
                return "current"
            unchanged: dict[str, Any] = {"pk": row.pk, entry.field: blob}
            if entry.version_field:
                unchanged[entry.version_field] = getattr(row, entry.version_field)
            if _manager(entry).filter(**unchanged).update(**{entry.field: rewrapped}):
                return "rotated"
            # The owner wrote the row after we read it: its write stands; rotate what is there now.
            row = _manager(entry).filter(pk=row.pk).first()
        self.stderr.write(f"{entry.label} pk={row.pk if row else '?'}: kept changing; left for the next run")
        return "conflict"


def _manager(entry: vault.SealedField) -> models.Manager[Any]:
    return apps.get_model(entry.model)._default_manager


def _walk(
    entry: vault.SealedField, *, batch_size: int, only: list[str] | None = None
) -> Iterator[models.Model]:
    """Rows in pk order, a batch per query, holding neither a cursor nor a transaction open."""
    queryset = _manager(entry).order_by("pk")
    if only:
        queryset = queryset.only(*only)
    last_pk = None
    while True:
        batch = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        rows = list(batch[:batch_size])
        if not rows:
            return
        yield from rows
        last_pk = rows[-1].pk


def _key_label(blob: bytes | memoryview | None) -> str:
    if not blob:
        return "(empty)"
    try:
        return vault.key_id_of(blob)
    except vault.MalformedBlobError:
        return "(malformed)"
