"""A session the host cannot open (its master key is gone, or the blob was altered) is shown to admins."""

from __future__ import annotations

import base64
import os
import time

import pytest

from accounts import services
from accounts.models import Account, AccountEvent, Lease, TelegramSession, session_context
from crm import vault
from tests.conftest import TEST_KEYRING
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GONE_KEY = base64.b64encode(os.urandom(32)).decode()  # random, as the keyring demands


def seal_under_a_key_the_host_lacks(row: TelegramSession, settings) -> str:
    context = session_context(account_id=row.account_id, version=row.version)
    raw = vault.unseal(bytes(row.blob), context=context)
    settings.SWITCHBOARD_MASTER_KEYS = f"gone:{GONE_KEY},{TEST_KEYRING}"
    row.blob = vault.seal(raw, context=context)
    settings.SWITCHBOARD_MASTER_KEYS = TEST_KEYRING
    return "gone"


def tamper(row: TelegramSession, settings) -> str:
    blob = bytearray(row.blob)
    blob[-1] ^= 0x01  # one bit of the ciphertext's tag
    row.blob = bytes(blob)
    return "test1"


@pytest.mark.parametrize(
    ("spoil", "words", "status"),
    [
        (seal_under_a_key_the_host_lacks, "no longer holds", Account.Status.DISABLED),
        (tamper, "fails authentication", Account.Status.REAUTH_REQUIRED),
    ],
    ids=["unknown-key-id", "tampered-blob"],
)
def test_an_unopenable_session_waits_for_an_admin_with_an_alert_naming_the_key_and_the_host_lets_it_go(
    tgsim, host_env, api_app, tmp_path, settings, spoil, words, status
):
    account, _ = ready_account(tgsim, api_app)
    row = TelegramSession.objects.get(account=account)
    key_id = spoil(row, settings)
    row.save(update_fields=["blob"])

    log = tmp_path / "host.log"
    with session_host("keys", log_path=log, env=host_env):
        wait_for(
            lambda: Account.objects.get(pk=account.pk).status == status,
            timeout=60,
            what="the account to need an admin",
        )
        wait_for(lambda: Lease.objects.get(pk=account.pk).holder == "", timeout=30, what="the lease release")
        time.sleep(8)  # several claim ticks (the TTL is 6 s): an account retried in a loop shows up here
        text = log.read_text()

    account.refresh_from_db()
    assert words in account.status_reason and repr(key_id) in account.status_reason
    events = AccountEvent.objects.filter(account=account, kind="status")
    assert [e.to_status for e in events] == [status]
    assert events[0].detail["key_id"] == key_id
    assert f"account {account.pk} needs attention: {status}" in text
    assert text.count(f"account {account.pk}: cannot open its session") == 1
    assert Lease.objects.get(pk=account.pk).holder == ""
    assert GONE_KEY not in text and TEST_KEYRING.split(":")[1] not in text
    assert GONE_KEY not in account.status_reason
    if status == Account.Status.DISABLED:
        # Once the key is back, resuming brings the account online with its session: no new login.
        assert services.account_resume(account_id=account.pk).status == Account.Status.ACTIVE
