"""Sessions stored before auth_key_id existed get theirs; a key two accounts share stays with the first."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from accounts.models import Account, TelegramSession, session_context
from accounts.sessions import SessionState, auth_key_id
from crm import vault

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0004_auth_key_id")


def stored_before(account: Account, key: bytes) -> None:
    """A session row as the code before this migration wrote it: sealed, without auth_key_id."""
    blob = vault.seal(
        SessionState(dc_id=2, auth_key=key).to_bytes(),
        context=session_context(account_id=account.pk, version=1),
    )
    TelegramSession.objects.create(account=account, version=1, blob=blob)


def test_the_migration_fingerprints_old_sessions_and_takes_a_shared_key_from_the_later_sharer(make_account):
    first, sharer, alone = (make_account(status=Account.Status.ACTIVE) for _ in range(3))
    shared, own = bytes(range(256)), bytes(reversed(range(256)))
    stored_before(first, shared)
    stored_before(sharer, shared)
    stored_before(alone, own)

    migration.fill_auth_key_ids(apps, None)

    ids = dict(TelegramSession.objects.values_list("account_id", "auth_key_id"))
    assert ids == {first.pk: auth_key_id(shared), alone.pk: auth_key_id(own)}  # the copy is erased
    sharer.refresh_from_db()
    first.refresh_from_db()
    assert sharer.status == Account.Status.DISABLED
    assert sharer.status_reason == f"Same auth key as account #{first.pk}; log in again"
    assert first.status == Account.Status.ACTIVE
