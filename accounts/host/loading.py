"""What a host needs to build an account's client, read for many accounts at once.

Three queries for a whole batch (accounts with their API apps, sealed sessions, recent peers) instead of
three per account; each API app's hash is opened once per batch. See accounts.host.batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts import sessions
from accounts.identity import Profile
from accounts.models import Account
from crm import vault

DEVICE_FIELDS = ("device_model", "system_version", "app_version", "lang_code", "system_lang_code")


class Unopenable(Exception):
    """A sealed secret the account needs cannot be opened with this host's keyring."""

    def __init__(self, *, what: str, error: vault.BlobError) -> None:
        super().__init__(f"cannot open {what}: {type(error).__name__}")
        self.what = what
        self.error = error


@dataclass
class Loaded:
    status: str
    api_id: int
    api_hash: str = field(repr=False)
    proxy: str = field(repr=False)
    device: dict[str, str]
    profile: Profile
    state: sessions.SessionState
    version: int
    entities: list[Any]


def load_many(account_ids: list[int]) -> dict[int, Loaded | BaseException]:
    """Each account's Loaded, or the Unopenable naming what could not be opened; a deleted account is
    left out."""
    accounts = Account.objects.select_related("api_app").in_bulk(account_ids)
    stored = sessions.sessions_load(account_ids=list(accounts))
    entities = sessions.entities_load_many(account_ids=list(accounts))
    hashes: dict[int, str | vault.BlobError] = {}
    found: dict[int, Loaded | BaseException] = {}
    for account_id, account in accounts.items():
        try:
            found[account_id] = _loaded(account, stored[account_id], entities[account_id], hashes)
        except Unopenable as error:
            found[account_id] = error
    return found


def _loaded(
    account: Account,
    stored: tuple[sessions.SessionState, int] | vault.BlobError,
    entities: list[Any],
    hashes: dict[int, str | vault.BlobError],
) -> Loaded:
    app = account.api_app
    if app.pk not in hashes:
        try:
            hashes[app.pk] = app.api_hash()
        except vault.BlobError as error:
            hashes[app.pk] = error
    api_hash = hashes[app.pk]
    if isinstance(api_hash, vault.BlobError):
        raise Unopenable(what="the API hash of its app", error=api_hash)
    try:
        proxy = account.proxy_url()
    except vault.BlobError as error:
        raise Unopenable(what="its proxy URL", error=error) from None
    if isinstance(stored, vault.BlobError):
        raise Unopenable(what="its session", error=stored)
    state, version = stored
    return Loaded(
        status=account.status,
        api_id=app.api_id,
        api_hash=api_hash,
        proxy=proxy,
        device={f: getattr(account, f) for f in DEVICE_FIELDS},
        profile=Profile.of(account),
        state=state,
        version=version,
        entities=entities,
    )
