"""Envelope encryption for every secret Switchboard stores (ARCHITECTURE invariant 5).

Each blob gets its own random 256-bit data key. The secret is encrypted under that key with
AES-256-GCM, the associated data being the caller's *context* (``session:<account>:<version>``,
``api_hash:<app>``), so a blob copied to another row, or replayed as another version, fails to open.
The data key is in turn wrapped with AES-256-GCM under a master key from ``SWITCHBOARD_MASTER_KEYS``;
that wrap binds the key id and the context too. Rotating the master key therefore only re-wraps the
small data key (``rewrap``) and never touches the ciphertext.

Blob layout, format 1 (all lengths in bytes)::

    2   magic b"SV"
    1   format version (1)
    1   key id length n
    n   key id (ASCII)
    12  wrap nonce
    48  wrapped data key (32 + 16-byte GCM tag)
    12  nonce
    *   ciphertext (+ 16-byte GCM tag)

Nothing here ever returns wrong plaintext: every failure raises a ``VaultError``, and no message
carries key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from crm.redact import Secret

SETTING = "SWITCHBOARD_MASTER_KEYS"

MAGIC = b"SV"
FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES
# Key ids end up in every blob header and in operator output, so keep them short and printable.
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# Domain separation: the two GCM layers never share associated data, even for an identical context.
_DATA_AD = b"switchboard.vault.1.data\x00"
_WRAP_AD = b"switchboard.vault.1.wrap\x00"


# PostgreSQL hands BinaryField values back as memoryview; every reader accepts any bytes-like value.
Blob = bytes | bytearray | memoryview

_TAMPERED = "vault blob failed authentication (altered, or sealed for another context)"


class VaultError(Exception):
    """Base of every vault failure."""


class KeyringError(VaultError):
    """SWITCHBOARD_MASTER_KEYS is malformed."""


class BlobError(VaultError):
    """This one blob cannot be opened (the keyring itself is fine): ``key_id`` names the master key it
    is wrapped under, when its header says so. Never key material."""

    def __init__(self, message: str, *, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


class UnknownKeyError(BlobError):
    """The blob was sealed under a master key id that is not in the keyring."""


class TamperedError(BlobError):
    """Authentication failed: the blob was altered, or it belongs to another context."""


class MalformedBlobError(BlobError):
    """The bytes are not a vault blob of a format this code understands."""


class Keyring:
    """The parsed master keys. Only AESGCM objects are kept, and the repr shows ids alone."""

    __slots__ = ("_ciphers", "primary_id")

    def __init__(self, ciphers: list[tuple[str, AESGCM]]) -> None:
        self.primary_id: str | None = ciphers[0][0] if ciphers else None
        self._ciphers = dict(ciphers)

    def __repr__(self) -> str:
        return f"<Keyring primary={self.primary_id!r} ids={self.ids}>"

    @property
    def ids(self) -> list[str]:
        return list(self._ciphers)

    def primary(self) -> tuple[str, AESGCM]:
        if self.primary_id is None:
            raise VaultError(f"{SETTING} is not set")
        return self.primary_id, self._ciphers[self.primary_id]

    def cipher(self, key_id: str) -> AESGCM:
        if not self._ciphers:
            raise VaultError(f"{SETTING} is not set")
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise UnknownKeyError(f"master key id {key_id!r} is not in {SETTING}", key_id=key_id) from None


# A random 32-byte key has about 30 distinct byte values; fewer than 16 happens by chance with a
# probability far below 2**-100, so such a key was typed, padded or zero-filled, and guessable.
MIN_DISTINCT_KEY_BYTES = 16


def parse_keyring(value: str | Secret[str]) -> Keyring:
    """Parse ``id:base64key[,id:base64key…]``; the first id seals, every id opens.

    Key material is held in ``Secret`` wrappers only, and each key becomes an AESGCM object at once:
    no frame of this parse has a local whose repr shows a key.
    """
    text = value if isinstance(value, Secret) else Secret(value)
    entries = [Secret(entry) for entry in text.reveal().split(",")] if text.reveal().strip() else []
    ciphers: list[tuple[str, AESGCM]] = []
    for position, entry in enumerate(entries, start=1):
        # Errors name the entry by position and id only: the key itself must never reach a log.
        where = f"{SETTING} entry {position}"
        key_id = _key_id(entry, where=where)
        if any(key_id == seen for seen, _ in ciphers):
            raise KeyringError(f"{where}: key id {key_id!r} appears twice")
        encoded = Secret(entry.reveal().strip().partition(":")[2].strip())
        ciphers.append((key_id, _cipher(encoded, where=f"{where} ({key_id!r})")))
    return Keyring(ciphers)


def _key_id(entry: Secret[str], *, where: str) -> str:
    key_id, separator, _ = entry.reveal().strip().partition(":")
    if not separator:
        raise KeyringError(f"{where} must look like id:base64key")
    if not KEY_ID.fullmatch(key_id):
        raise KeyringError(f"{where}: key id must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return key_id


def _cipher(encoded: Secret[str], *, where: str) -> AESGCM:
    key = _decode_key(encoded, where=where)
    if len(key.reveal()) != KEY_BYTES:
        raise KeyringError(f"{where}: key must be {KEY_BYTES} bytes, not {len(key.reveal())}")
    if len(set(key.reveal())) < MIN_DISTINCT_KEY_BYTES:
        raise KeyringError(
            f"{where}: key is not random enough (fewer than {MIN_DISTINCT_KEY_BYTES} distinct byte values); "
            "generate 32 random bytes, e.g. `openssl rand -base64 32`"
        )
    return AESGCM(key.reveal())


def _decode_key(encoded: Secret[str], *, where: str) -> Secret[bytes]:
    # Accept both base64 alphabets, padded or not, as operators paste whatever their tool printed.
    try:
        return Secret(base64.b64decode(_standard_base64(encoded.reveal()), validate=True))
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: key is not valid base64") from None


def _standard_base64(text: str) -> str:
    text = text.replace("-", "+").replace("_", "/")
    return text + "=" * (-len(text) % 4)


@functools.lru_cache(maxsize=4)
def _keyring_for(value: str) -> Keyring:
    return parse_keyring(Secret(value))


def keyring() -> Keyring:
    """The keyring of the current settings, parsed once per distinct setting value.

    Keyed on the value rather than cached outright, so ``override_settings`` swaps keyrings in tests.
    """
    return _keyring_for(getattr(settings, SETTING, "") or "")


def seal(plaintext: Blob, *, context: str) -> bytes:
    """Encrypt ``plaintext`` under a fresh data key, wrapped by the primary master key."""
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError("seal() takes bytes; encode text first")
    context_bytes = _context_bytes(context)
    key_id, master = keyring().primary()
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, bytes(plaintext), _DATA_AD + context_bytes)
    return _pack(
        key_id=key_id,
        nonce=nonce,
        ciphertext=ciphertext,
        data_key=data_key,
        master=master,
        context_bytes=context_bytes,
    )


def unseal(blob: Blob, *, context: str) -> bytes:
    """Decrypt a blob sealed for exactly this ``context``, or raise."""
    context_bytes = _context_bytes(context)
    envelope = _unpack(blob)
    data_key = _unwrap(envelope, context_bytes=context_bytes)
    return _open(envelope, data_key=data_key, context_bytes=context_bytes)


def key_id_of(blob: Blob) -> str:
    """The id of the master key a blob is wrapped under (read from the header, nothing decrypted)."""
    return _unpack(blob).key_id


def rewrap(blob: Blob, *, context: str) -> bytes | None:
    """Re-wrap the blob's data key under the primary master key, keeping its ciphertext.

    Returns None when the blob is already under the primary key. The ciphertext is authenticated
    before anything is returned, so rotation reports a damaged blob instead of carrying it forward.
    """
    context_bytes = _context_bytes(context)
    envelope = _unpack(blob)
    primary_id, master = keyring().primary()
    if envelope.key_id == primary_id:
        return None
    data_key = _unwrap(envelope, context_bytes=context_bytes)
    _open(envelope, data_key=data_key, context_bytes=context_bytes)
    return _pack(
        key_id=primary_id,
        nonce=envelope.nonce,
        ciphertext=envelope.ciphertext,
        data_key=data_key,
        master=master,
        context_bytes=context_bytes,
    )


@dataclass(frozen=True)
class _Envelope:
    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


def _context_bytes(context: str) -> bytes:
    # An empty context would bind a blob to nothing, which is exactly what the context is there to stop.
    if not isinstance(context, str) or not context:
        raise ValueError("a vault context must be a non-empty string")
    return context.encode()


def _wrap_ad(key_id: str, context_bytes: bytes) -> bytes:
    return _WRAP_AD + key_id.encode() + b"\x00" + context_bytes


def _pack(
    *, key_id: str, nonce: bytes, ciphertext: bytes, data_key: bytes, master: AESGCM, context_bytes: bytes
) -> bytes:
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapped_key = master.encrypt(wrap_nonce, data_key, _wrap_ad(key_id, context_bytes))
    encoded_id = key_id.encode()
    return b"".join(
        [
            MAGIC,
            bytes([FORMAT_VERSION, len(encoded_id)]),
            encoded_id,
            wrap_nonce,
            wrapped_key,
            nonce,
            ciphertext,
        ]
    )


def _unpack(blob: Any) -> _Envelope:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise MalformedBlobError(f"a vault blob is bytes, not {type(blob).__name__}")
    data = bytes(blob)  # BinaryField values come back from PostgreSQL as memoryview
    if data[: len(MAGIC)] != MAGIC:
        raise MalformedBlobError("not a vault blob (bad magic)")
    if len(data) < len(MAGIC) + 2:
        raise MalformedBlobError("vault blob is truncated")
    version, id_length = data[2], data[3]
    if version != FORMAT_VERSION:
        raise MalformedBlobError(f"unsupported vault format version {version}")
    offset = 4
    fixed = id_length + NONCE_BYTES + WRAPPED_KEY_BYTES + NONCE_BYTES + TAG_BYTES
    if len(data) < offset + fixed:
        raise MalformedBlobError("vault blob is truncated")
    try:
        key_id = data[offset : offset + id_length].decode("ascii")
    except UnicodeDecodeError:
        raise MalformedBlobError("vault blob has an unreadable key id") from None
    if not KEY_ID.fullmatch(key_id):
        raise MalformedBlobError("vault blob has an unreadable key id")
    offset += id_length
    wrap_nonce = data[offset : offset + NONCE_BYTES]
    offset += NONCE_BYTES
    wrapped_key = data[offset : offset + WRAPPED_KEY_BYTES]
    offset += WRAPPED_KEY_BYTES
    nonce = data[offset : offset + NONCE_BYTES]
    offset += NONCE_BYTES
    return _Envelope(key_id, wrap_nonce, wrapped_key, nonce, data[offset:])


def _unwrap(envelope: _Envelope, *, context_bytes: bytes) -> bytes:
    master = keyring().cipher(envelope.key_id)
    try:
        return master.decrypt(
            envelope.wrap_nonce, envelope.wrapped_key, _wrap_ad(envelope.key_id, context_bytes)
        )
    except InvalidTag:
        # A wrong context lands here too: the wrap is bound to it, so we fail before touching data.
        raise TamperedError(_TAMPERED, key_id=envelope.key_id) from None


def _open(envelope: _Envelope, *, data_key: bytes, context_bytes: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, _DATA_AD + context_bytes)
    except InvalidTag:
        raise TamperedError(_TAMPERED, key_id=envelope.key_id) from None


# Registry of sealed fields, so key rotation can find every blob without knowing the apps.


@dataclass(frozen=True)
class SealedField:
    """One model field holding vault blobs, and how to compute each row's context."""

    model: str  # "app_label.ModelName"; resolved lazily so registration order never matters
    field: str
    context: Callable[[Any], str]
    version_field: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"


_registry: dict[tuple[str, str], SealedField] = {}


def register(
    *, model: str, field: str, context: Callable[[Any], str], version_field: str | None = None
) -> None:
    """Declare a sealed field; ``context(instance)`` must return the context its rows were sealed with.

    ``version_field``, when the row carries one, is also checked by rotation's conditional update.
    Registering the same field again replaces the entry (a re-imported models module is harmless).
    """
    app_label, dot, model_name = model.partition(".")
    if not (app_label and dot and model_name) or "." in model_name:
        raise ValueError(f"model must be an 'app_label.ModelName' label, not {model!r}")
    _registry[(model.lower(), field)] = SealedField(
        model=model, field=field, context=context, version_field=version_field
    )


def registered_fields() -> list[SealedField]:
    """Every registered sealed field, in registration order."""
    return list(_registry.values())
