from __future__ import annotations

import base64
import io
import os

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import override_settings

from accounts.models import Account, ApiApp, TelegramSession, session_context
from crm import vault

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.b64encode(os.urandom(32)).decode()
OLD_ONLY = f"old:{OLD}"
ROTATING = f"new:{NEW},old:{OLD}"
NEW_ONLY = f"new:{NEW}"

pytestmark = pytest.mark.django_db


class Interrupted(BaseException):
    """Stands in for SIGKILL: nothing after it in the command runs."""


@pytest.fixture
def sealed_rows(settings):
    """Three API apps and three sessions, all sealed under the old key."""
    settings.SWITCHBOARD_MASTER_KEYS = OLD_ONLY
    apps = []
    for n in range(3):
        app = ApiApp.objects.create(name=f"app {n}", api_id=1000 + n, api_hash_sealed=b"")
        app.seal_api_hash(f"{n:x}" * 32)
        app.save()
        apps.append(app)
    sessions = []
    for n in range(3):
        account = Account.objects.create(
            phone=f"99966{n}0000",
            api_app=apps[0],
            device_model="Pixel 7",
            system_version="Android 14",
            app_version="10.0",
        )
        sessions.append(
            TelegramSession.objects.create(
                account=account,
                version=4,
                blob=vault.seal(
                    f"session {n}".encode(), context=session_context(account_id=account.pk, version=4)
                ),
            )
        )
    return apps, sessions


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_master_key", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _recording(rewrap, contexts):
    def recorded(blob, *, context):
        contexts.append(context)
        return rewrap(blob, context=context)

    return recorded


def _key_ids() -> list[str]:
    blobs = [bytes(b) for b in ApiApp.objects.order_by("pk").values_list("api_hash_sealed", flat=True)]
    blobs += [bytes(b) for b in TelegramSession.objects.order_by("pk").values_list("blob", flat=True)]
    return [vault.key_id_of(blob) for blob in blobs]


def _secrets() -> list[str]:
    hashes = [app.api_hash() for app in ApiApp.objects.order_by("pk")]
    sessions = TelegramSession.objects.order_by("pk")
    return hashes + [vault.unseal(bytes(s.blob), context=s.context()).decode() for s in sessions]


def test_rotation_rewraps_everything_so_the_old_key_can_be_dropped(sealed_rows, settings):
    before = _secrets()
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    output = _rotate()
    assert "accounts.ApiApp.api_hash_sealed: rotated 3 / 3" in output
    assert "accounts.TelegramSession.blob: rotated 3 / 3" in output
    assert _key_ids() == ["new"] * 6
    settings.SWITCHBOARD_MASTER_KEYS = NEW_ONLY
    assert _secrets() == before


def test_rotation_leaves_session_versions_alone(sealed_rows, settings):
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    _rotate()
    assert set(TelegramSession.objects.values_list("version", flat=True)) == {4}


def test_progress_is_reported_per_batch(sealed_rows, settings):
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    output = _rotate("--batch-size", "2")
    assert "accounts.ApiApp.api_hash_sealed: rotated 2 / 3\n" in output
    assert "Done: 6 rotated to 'new', 0 already there, 0 failed, 0 left busy." in output


def test_a_second_run_changes_nothing(sealed_rows, settings):
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    _rotate()
    blobs = list(ApiApp.objects.order_by("pk").values_list("api_hash_sealed", flat=True))
    output = _rotate()
    assert "Done: 0 rotated to 'new', 6 already there" in output
    assert list(ApiApp.objects.order_by("pk").values_list("api_hash_sealed", flat=True)) == blobs


def test_an_interrupted_rotation_finishes_when_run_again(sealed_rows, settings, monkeypatch):
    before = _secrets()
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    rewrap = vault.rewrap
    calls = []

    def dies_on_the_fourth_row(blob, *, context):
        calls.append(context)
        if len(calls) == 4:
            raise Interrupted
        return rewrap(blob, context=context)

    monkeypatch.setattr(vault, "rewrap", dies_on_the_fourth_row)
    with pytest.raises(Interrupted):
        _rotate("--batch-size", "2")
    assert _key_ids() == ["new", "new", "new", "old", "old", "old"]

    monkeypatch.setattr(vault, "rewrap", rewrap)
    assert "Done: 3 rotated to 'new', 3 already there" in _rotate("--batch-size", "2")
    settings.SWITCHBOARD_MASTER_KEYS = NEW_ONLY
    assert _secrets() == before


@pytest.mark.parametrize("writer_keys", [OLD_ONLY, ROTATING], ids=["writer-on-old-key", "writer-on-new-key"])
def test_a_session_saved_during_rotation_is_never_overwritten(
    sealed_rows, settings, monkeypatch, writer_keys
):
    _, sessions = sealed_rows
    target = sessions[1]
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    rewrap = vault.rewrap

    def host_saves_meanwhile(blob, *, context):
        result = rewrap(blob, context=context)
        if context == target.context():
            # The session host checkpoints the account between our read and our conditional write.
            with override_settings(SWITCHBOARD_MASTER_KEYS=writer_keys):
                fresh = vault.seal(b"newer session", context=session_context(account_id=target.pk, version=5))
            TelegramSession.objects.filter(pk=target.pk).update(blob=fresh, version=F("version") + 1)
        return result

    seen: list[str] = []
    monkeypatch.setattr(vault, "rewrap", _recording(host_saves_meanwhile, seen))
    _rotate()
    # The stale read lost its conditional write and the row was read again at its new version.
    assert [c for c in seen if c.startswith(f"session:{target.pk}:")] == [
        f"session:{target.pk}:4",
        f"session:{target.pk}:5",
    ]
    target.refresh_from_db()
    assert target.version == 5
    settings.SWITCHBOARD_MASTER_KEYS = NEW_ONLY
    assert vault.unseal(bytes(target.blob), context=target.context()) == b"newer session"
    assert _key_ids() == ["new"] * 6


def test_an_api_hash_resealed_during_rotation_is_never_overwritten(sealed_rows, settings, monkeypatch):
    apps, _ = sealed_rows
    target = apps[2]
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    rewrap = vault.rewrap
    edits = []

    def admin_edits_meanwhile(blob, *, context):
        result = rewrap(blob, context=context)
        if context == target.api_hash_context() and not edits:
            edits.append(context)
            with override_settings(SWITCHBOARD_MASTER_KEYS=OLD_ONLY):
                target.seal_api_hash("f" * 32)
            ApiApp.objects.filter(pk=target.pk).update(api_hash_sealed=target.api_hash_sealed)
        return result

    seen: list[str] = []
    monkeypatch.setattr(vault, "rewrap", _recording(admin_edits_meanwhile, seen))
    _rotate()
    assert seen.count(target.api_hash_context()) == 2
    settings.SWITCHBOARD_MASTER_KEYS = NEW_ONLY
    assert ApiApp.objects.get(pk=target.pk).api_hash() == "f" * 32


def test_a_row_that_keeps_changing_is_left_for_the_next_run(sealed_rows, settings, monkeypatch):
    apps, _ = sealed_rows
    target = apps[0]
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    rewrap = vault.rewrap

    def admin_edits_every_time(blob, *, context):
        result = rewrap(blob, context=context)
        if context == target.api_hash_context():
            with override_settings(SWITCHBOARD_MASTER_KEYS=OLD_ONLY):
                target.seal_api_hash("e" * 32)
            ApiApp.objects.filter(pk=target.pk).update(api_hash_sealed=target.api_hash_sealed)
        return result

    monkeypatch.setattr(vault, "rewrap", admin_edits_every_time)
    errors = io.StringIO()
    with pytest.raises(CommandError, match="some blobs were not rotated"):
        call_command("rotate_master_key", stdout=io.StringIO(), stderr=errors)
    assert f"pk={target.pk}: kept changing; left for the next run" in errors.getvalue()
    assert ApiApp.objects.get(pk=target.pk).api_hash() == "e" * 32
    monkeypatch.setattr(vault, "rewrap", rewrap)
    _rotate()
    assert _key_ids() == ["new"] * 6


def test_check_fails_until_every_blob_is_under_the_primary_key(sealed_rows, settings):
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    with pytest.raises(CommandError, match="6 blobs are not under the primary key 'new'"):
        _rotate("--check")
    _rotate()
    assert "0 blobs not under the primary key 'new'." in _rotate("--check")


def test_dry_run_counts_and_changes_nothing(sealed_rows, settings):
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    output = _rotate("--dry-run")
    assert "accounts.ApiApp.api_hash_sealed: old: 3; 3 to rotate" in output
    assert "accounts.TelegramSession.blob: old: 3; 3 to rotate" in output
    assert _key_ids() == ["old"] * 6


def test_a_damaged_blob_is_reported_and_the_rest_still_rotate(sealed_rows, settings):
    apps, _ = sealed_rows
    blob = bytes(apps[1].api_hash_sealed)
    ApiApp.objects.filter(pk=apps[1].pk).update(api_hash_sealed=blob[:-1] + bytes([blob[-1] ^ 1]))
    settings.SWITCHBOARD_MASTER_KEYS = ROTATING
    errors = io.StringIO()
    with pytest.raises(CommandError, match="some blobs were not rotated"):
        call_command("rotate_master_key", stdout=io.StringIO(), stderr=errors)
    assert f"accounts.ApiApp.api_hash_sealed pk={apps[1].pk}: TamperedError" in errors.getvalue()
    assert OLD not in errors.getvalue()
    assert _key_ids() == ["new", "old", "new", "new", "new", "new"]


def test_rotation_without_a_keyring_says_what_to_set(settings):
    settings.SWITCHBOARD_MASTER_KEYS = ""
    with pytest.raises(CommandError, match="SWITCHBOARD_MASTER_KEYS is not set"):
        _rotate()
