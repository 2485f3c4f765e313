"""Filling audiences: from a CSV file (username / phone / user_id) and from existing conversations."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from crm.parsing import parse_id, text_problem
from inbox.models import Contact, Conversation
from inbox.services import contact_import
from outreach.models import Audience, AudienceMember

USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
COLUMNS = {"username", "phone", "user_id", "first_name", "last_name"}
PHONE = re.compile(r"^[0-9]{5,20}$")  # ASCII digits: isdigit() also passes "²" and "٣"
MAX_ROWS = 100_000
MAX_BYTES = 10 * 1024 * 1024  # the upload cap (CsvImportForm); 100,000 rows fit in far less


@dataclass
class ImportReport:
    added: int = 0
    known: int = 0  # rows naming people already in the audience
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, what is wrong)


def audience_import_csv(*, audience: Audience, data: bytes | str) -> ImportReport:
    """Add the CSV's people to the audience. Good rows are kept; each bad row is reported by line.

    A row names a person by ``user_id`` (a Telegram id, stored as a contact), or by ``username`` / ``phone``
    of a contact Switchboard already knows (from a scrape, an import or a conversation): Telegram gives
    out ids and access hashes only through an account, so an unknown username is reported, not guessed.
    """
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    reader = csv.DictReader(io.StringIO(text))
    report = ImportReport()
    try:
        header = {(name or "").strip().lower() for name in reader.fieldnames or []}
    except csv.Error as error:
        report.errors.append((1, f"Not a readable CSV file ({error})"))
        return report
    if not header & {"username", "phone", "user_id"}:
        report.errors.append((1, "The first line must name a username, phone or user_id column"))
        return report
    _import(audience, _rows(reader, report), source="csv", report=report, max_line=MAX_ROWS + 1)
    return report


def audience_import_rows(*, audience: Audience, rows: list[dict[str, str]]) -> ImportReport:
    """Add people given as rows with the CSV's columns (the API's import); errors name the row, from 1."""
    report = ImportReport()
    _import(audience, enumerate(rows, start=1), source="api", report=report, max_line=MAX_ROWS)
    return report


def _import(
    audience: Audience, rows: Iterable[tuple[int, dict]], *, source: str, report: ImportReport, max_line: int
) -> None:
    contact_ids: list[int] = []
    for line, row in rows:
        if line > max_line:
            report.errors.append((line, f"Only the first {MAX_ROWS} rows are imported"))
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        try:
            contact_ids.append(_contact_for(row))
        except ValueError as error:
            report.errors.append((line, str(error)))
    _add(audience, contact_ids, source=source, report=report)


def _rows(reader: csv.DictReader, report: ImportReport) -> Iterator[tuple[int, dict]]:
    """(line, row) pairs; a row the csv module cannot read (a field past its size limit, a broken quote)
    ends the import with that line reported, keeping the rows before it."""
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.errors.append((reader.line_num or line + 1, f"Unreadable row, import stopped ({error})"))
            return
        line += 1
        yield line, row


def _contact_for(row: dict[str, str]) -> int:
    if any(text_problem(value) for value in row.values() if isinstance(value, str)):
        raise ValueError("The row contains a NUL character")
    user_id, username, phone = row.get("user_id", ""), row.get("username", ""), row.get("phone", "")
    if username:
        match = USERNAME.match(username.replace("https://t.me/", "").replace("t.me/", ""))
        if not match:
            raise ValueError(f"{username[:40]!r} is not a Telegram username")
        username = match.group(1)
    phone = re.sub(r"[\s()+.-]", "", phone)
    if phone and not PHONE.match(phone):
        raise ValueError(f"{row.get('phone', '')[:40]!r} is not a phone number")
    if user_id:
        telegram_id = parse_id(user_id)
        if telegram_id is None:
            raise ValueError(f"{user_id[:40]!r} is not a Telegram user id")
        return contact_import(
            telegram_id=telegram_id,
            username=username,
            phone=phone,
            first_name=row.get("first_name", ""),
            last_name=row.get("last_name", ""),
        )
    if username:
        found = Contact.objects.filter(username__iexact=username).values_list("id", flat=True).first()
        if found is None:
            raise ValueError(
                f"@{username} is not a known contact yet: add its user_id, or scrape a group it is in"
            )
        return found
    if phone:
        found = Contact.objects.filter(phone=phone).values_list("id", flat=True).first()
        if found is None:
            raise ValueError(f"No known contact has the phone {phone}")
        return found
    raise ValueError("The row names nobody (empty username, phone and user_id)")


def audience_import_conversations(
    *, audience: Audience, account_ids: list[int] | None = None
) -> ImportReport:
    """Add everyone with a private conversation (of the given accounts, or of all) to the audience."""
    private = Conversation.objects.filter(kind=Conversation.Kind.PRIVATE)
    if account_ids:
        private = private.filter(account_id__in=account_ids)
    peers = private.values("peer_id")
    ids = list(
        Contact.objects.filter(Q(telegram_id__in=peers) | Q(conversations__in=private), is_bot=False)
        .values_list("id", flat=True)
        .distinct()
    )
    report = ImportReport()
    _add(audience, ids, source="conversations", report=report)
    return report


def _add(audience: Audience, contact_ids: list[int], *, source: str, report: ImportReport) -> None:
    unique = list(dict.fromkeys(contact_ids))
    with transaction.atomic():
        before = audience.members.count()
        AudienceMember.objects.bulk_create(
            [AudienceMember(audience=audience, contact_id=cid, source=source) for cid in unique],
            ignore_conflicts=True,
            batch_size=5000,
        )
        report.added = audience.members.count() - before
    report.known = len(unique) - report.added
