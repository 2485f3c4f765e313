from __future__ import annotations

import base64
import os

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm import vault

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
SECRET = b"auth key and update state of account 7"
CONTEXT = "session:7:3"


@pytest.fixture
def keys(settings):
    settings.SWITCHBOARD_MASTER_KEYS = f"old:{OLD}"
    return settings


def _flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


def _wrapped_key_offset(blob: bytes) -> int:
    return 4 + blob[3] + vault.NONCE_BYTES


def test_a_sealed_secret_opens_with_the_same_context(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    assert vault.unseal(blob, context=CONTEXT) == SECRET
    assert SECRET not in blob
    assert vault.key_id_of(blob) == "old"


def test_every_seal_uses_a_fresh_data_key_and_nonce(keys):
    assert vault.seal(SECRET, context=CONTEXT) != vault.seal(SECRET, context=CONTEXT)


def test_a_blob_read_back_from_postgres_as_memoryview_opens(keys):
    blob = vault.seal(b"", context=CONTEXT)
    assert vault.unseal(memoryview(blob), context=CONTEXT) == b""


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.binary(max_size=300), context=st.text(min_size=1), data=st.data())
def test_no_single_changed_byte_ever_opens(keys, secret, context, data):
    blob = vault.seal(secret, context=context)
    assert vault.unseal(blob, context=context) == secret
    index = data.draw(st.integers(0, len(blob) - 1))
    changed = blob[:index] + bytes([blob[index] ^ data.draw(st.integers(1, 255))]) + blob[index + 1 :]
    with pytest.raises(vault.VaultError):
        vault.unseal(changed, context=context)


def test_a_flipped_ciphertext_byte_is_detected(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(vault.TamperedError):
        vault.unseal(_flip(blob, len(blob) - 20), context=CONTEXT)


def test_a_flipped_gcm_tag_byte_is_detected(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(vault.TamperedError):
        vault.unseal(_flip(blob, len(blob) - 1), context=CONTEXT)


def test_a_flipped_wrapped_key_byte_is_detected(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(vault.TamperedError):
        vault.unseal(_flip(blob, _wrapped_key_offset(blob) + 5), context=CONTEXT)


def test_a_flipped_nonce_byte_is_detected(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(vault.TamperedError):
        vault.unseal(_flip(blob, _wrapped_key_offset(blob) + vault.WRAPPED_KEY_BYTES), context=CONTEXT)


@pytest.mark.parametrize("other", ["session:8:3", "session:7:2", "session:7:4", "api_hash:7"])
def test_a_blob_moved_to_another_account_or_version_does_not_open(keys, other):
    blob = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(vault.TamperedError):
        vault.unseal(blob, context=other)


def test_a_blob_under_a_key_id_missing_from_the_keyring_is_refused(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW}"
    with pytest.raises(vault.UnknownKeyError, match="'old'"):
        vault.unseal(blob, context=CONTEXT)


def test_a_blob_that_cannot_be_opened_names_its_master_key_id_and_nothing_secret(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(vault.BlobError) as altered:
        vault.unseal(tampered, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW}"
    with pytest.raises(vault.BlobError) as unknown:
        vault.unseal(blob, context=CONTEXT)
    assert (altered.value.key_id, unknown.value.key_id) == ("old", "old")
    assert OLD not in str(altered.value) + str(unknown.value)


def test_a_blob_relabelled_with_another_key_id_does_not_open(keys):
    keys.SWITCHBOARD_MASTER_KEYS = f"old:{OLD},olx:{OLD}"
    blob = vault.seal(SECRET, context=CONTEXT)
    # Same key bytes under another id: the wrap binds the id, so relabelling is caught.
    relabelled = blob.replace(b"old", b"olx", 1)
    with pytest.raises(vault.TamperedError):
        vault.unseal(relabelled, context=CONTEXT)


@pytest.mark.parametrize(
    "blob",
    [b"", b"SV", b"XX\x01\x03old" + b"\x00" * 100, b"SV\x09\x03old" + b"\x00" * 100, b"SV\x01\x03old\x00"],
    ids=["empty", "magic-only", "bad-magic", "future-format", "truncated"],
)
def test_garbage_is_reported_as_a_malformed_blob(keys, blob):
    with pytest.raises(vault.MalformedBlobError):
        vault.unseal(blob, context=CONTEXT)


def test_a_non_bytes_blob_is_malformed(keys):
    with pytest.raises(vault.MalformedBlobError):
        vault.key_id_of("SV...")  # type: ignore[arg-type]


def test_sealing_without_a_keyring_says_what_to_set(settings):
    settings.SWITCHBOARD_MASTER_KEYS = ""
    with pytest.raises(vault.VaultError, match="SWITCHBOARD_MASTER_KEYS is not set"):
        vault.seal(SECRET, context=CONTEXT)


def test_an_empty_context_is_refused(keys):
    with pytest.raises(ValueError, match="context"):
        vault.seal(SECRET, context="")


def test_the_first_key_seals_and_every_key_opens(keys):
    old_blob = vault.seal(SECRET, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW}, old:{OLD}"
    new_blob = vault.seal(SECRET, context=CONTEXT)
    assert vault.key_id_of(new_blob) == "new"
    assert vault.unseal(old_blob, context=CONTEXT) == SECRET
    assert vault.unseal(new_blob, context=CONTEXT) == SECRET


def test_rewrap_moves_a_blob_to_the_primary_key_and_keeps_its_ciphertext(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW},old:{OLD}"
    rewrapped = vault.rewrap(blob, context=CONTEXT)
    assert rewrapped is not None
    assert vault.key_id_of(rewrapped) == "new"
    assert rewrapped[-len(SECRET) - 16 :] == blob[-len(SECRET) - 16 :]
    assert vault.rewrap(rewrapped, context=CONTEXT) is None
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW}"
    assert vault.unseal(rewrapped, context=CONTEXT) == SECRET


def test_rewrap_refuses_a_blob_of_another_context(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW},old:{OLD}"
    with pytest.raises(vault.TamperedError):
        vault.rewrap(blob, context="session:7:4")


def test_rewrap_refuses_a_blob_with_damaged_ciphertext(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    keys.SWITCHBOARD_MASTER_KEYS = f"new:{NEW},old:{OLD}"
    with pytest.raises(vault.TamperedError):
        vault.rewrap(_flip(blob, len(blob) - 20), context=CONTEXT)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"{OLD}", "entry 1 must look like id:base64key"),
        (f"a:{OLD},", "entry 2 must look like id:base64key"),
        (f"a b:{OLD}", "entry 1: key id must be"),
        (f":{OLD}", "entry 1: key id must be"),
        (f"a:{OLD},a:{NEW}", "entry 2: key id 'a' appears twice"),
        ("a:not*base64", "entry 1 \\('a'\\): key is not valid base64"),
        (f"a:{base64.b64encode(os.urandom(16)).decode()}", "entry 1 \\('a'\\): key must be 32 bytes, not 16"),
        (f"a:{OLD},b:{base64.b64encode(os.urandom(33)).decode()}", "entry 2 \\('b'\\): key must be 32 bytes"),
    ],
    ids=["no-id", "empty-entry", "space-in-id", "empty-id", "id-twice", "not-base64", "16-bytes", "33-bytes"],
)
def test_a_malformed_keyring_names_the_variable_and_entry(settings, value, message):
    settings.SWITCHBOARD_MASTER_KEYS = value
    with pytest.raises(vault.KeyringError, match=f"SWITCHBOARD_MASTER_KEYS {message}") as raised:
        vault.seal(SECRET, context=CONTEXT)
    assert OLD not in str(raised.value)
    assert NEW not in str(raised.value)


def test_errors_and_reprs_never_show_keys_or_plaintext(keys):
    blob = vault.seal(SECRET, context=CONTEXT)
    failures = []
    for attempt in (
        lambda: vault.unseal(_flip(blob, len(blob) - 20), context=CONTEXT),
        lambda: vault.unseal(blob, context="session:7:4"),
        lambda: vault.unseal(blob[:40], context=CONTEXT),
    ):
        with pytest.raises(vault.VaultError) as raised:
            attempt()
        failures.append(raised.value)
    shown = " ".join([repr(vault.keyring()), *(f"{e!r} {e.__cause__!r} {e.__context__!r}" for e in failures)])
    assert OLD not in shown
    assert base64.b64decode(OLD).hex() not in shown
    assert "account 7" not in shown
    assert all(e.__suppress_context__ for e in failures if e.__context__ is not None)


def test_keyrings_follow_the_setting_so_tests_can_swap_them(settings):
    settings.SWITCHBOARD_MASTER_KEYS = f"old:{OLD}"
    assert vault.keyring().ids == ["old"]
    settings.SWITCHBOARD_MASTER_KEYS = f"new:{NEW},old:{OLD}"
    assert vault.keyring().ids == ["new", "old"]
    assert vault.keyring() is vault.keyring()


def test_registering_a_field_needs_a_model_label():
    with pytest.raises(ValueError, match=r"app_label\.ModelName"):
        vault.register(model="ApiApp", field="api_hash_sealed", context=str)


def test_the_accounts_secrets_are_registered_for_rotation():
    labels = {entry.label: entry for entry in vault.registered_fields()}
    assert "accounts.ApiApp.api_hash_sealed" in labels
    assert labels["accounts.TelegramSession.blob"].version_field == "version"


@pytest.mark.parametrize(
    "key",
    [
        bytes(32),  # all zeros
        b"\xa7" * 32,  # one repeated byte
        bytes(range(15)) * 2 + b"\x00\x01",  # 15 distinct values
        b"passwordpasswordpasswordpassword",  # a typed phrase
    ],
    ids=["zeros", "repeated-byte", "15-distinct", "typed-phrase"],
)
def test_a_master_key_of_low_entropy_is_refused_naming_its_id_only(settings, key):
    encoded = base64.b64encode(key).decode()
    settings.SWITCHBOARD_MASTER_KEYS = f"good:{OLD},weak:{encoded}"
    with pytest.raises(vault.KeyringError, match=r"entry 2 \('weak'\): key is not random enough") as raised:
        vault.seal(SECRET, context=CONTEXT)
    assert encoded not in str(raised.value) and key.hex() not in str(raised.value)
    assert OLD not in str(raised.value)


def test_random_keys_and_the_test_keyring_pass_the_entropy_rule(settings):
    from tests.conftest import TEST_KEYRING

    assert vault.parse_keyring(TEST_KEYRING).ids == ["test1"]
    # A random 32-byte key falls under 16 distinct values with a probability far below 2**-100.
    for _ in range(200):
        assert vault.parse_keyring(f"r:{base64.b64encode(os.urandom(32)).decode()}").ids == ["r"]
