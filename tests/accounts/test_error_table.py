from __future__ import annotations

import pytest
from telethon import errors

from accounts.telegram.errors import AccountLevel, InputError, Wait, classify
from accounts.telegram.peers import PeerNotFound


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            errors.FloodWaitError(None, capture=42),
            Wait(42, "account", "Telegram asked to wait 42 s (FLOOD_WAIT)"),
        ),
        (
            errors.SlowModeWaitError(None, capture=7),
            Wait(7, "chat", "Slow mode: wait 7 s before writing there"),
        ),
    ],
)
def test_waits_carry_their_seconds_and_scope(error, expected):
    assert classify(error) == expected


@pytest.mark.parametrize(
    ("error", "status", "releases"),
    [
        (errors.PeerFloodError(None), "spam_limited", False),
        (errors.AuthKeyUnregisteredError(None), "reauth_required", True),
        (errors.AuthKeyNotFound(), "reauth_required", True),
        (errors.SessionRevokedError(None), "reauth_required", True),
        (errors.AuthKeyDuplicatedError(None), "reauth_required", True),
        (errors.UserDeactivatedBanError(None), "banned", True),
        (errors.UserDeactivatedError(None), "banned", True),
        (errors.PhoneNumberBannedError(None), "banned", True),
    ],
)
def test_account_level_errors_name_the_status_and_whether_the_lease_goes(error, status, releases):
    outcome = classify(error)
    assert isinstance(outcome, AccountLevel)
    assert (outcome.status, outcome.release_lease) == (status, releases)


def test_a_duplicated_key_is_a_critical_alert_because_our_lease_was_violated():
    assert classify(errors.AuthKeyDuplicatedError(None)).alert == "critical"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (errors.UserPrivacyRestrictedError(None), "privacy"),
        (errors.PhoneCodeInvalidError(None), "login code is wrong"),
        (PeerNotFound("@nobody"), "cannot find @nobody"),
        (errors.BadRequestError(None, "SOMETHING_NEW"), "SOMETHING_NEW"),
    ],
)
def test_input_errors_fail_the_item_in_plain_words(error, words):
    outcome = classify(error)
    assert isinstance(outcome, InputError)
    assert words in outcome.reason


def test_anything_else_is_not_ours_to_retry():
    assert classify(RuntimeError("boom")) is None
    assert classify(ConnectionError()) is None
