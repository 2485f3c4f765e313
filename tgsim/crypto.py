"""Server-side MTProto cryptography: the RSA key clients trust, AES-256-IGE and MTProto 2.0 key derivation.

Everything here mirrors what Telethon 1.45 does on the client (telethon/crypto/rsa.py, crypto/aes.py,
network/mtprotostate.py, helpers.generate_key_data_from_nonce), seen from the other end of the wire.
"""

# ruff: noqa: S324, S305 - MTProto prescribes SHA1 and IGE built on ECB: protocol, not a choice
from __future__ import annotations

import os
import struct
from hashlib import sha1, sha256
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from telethon.tl.tlobject import TLObject

RsaKey = rsa.RSAPrivateKey


# --- RSA ---------------------------------------------------------------------------------------------


def generate_rsa_key() -> RsaKey:
    """A fresh 2048-bit key, the size Telegram's own server keys have (and Telethon pads to 256 bytes)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def save_rsa_key(key: RsaKey, path: str | Path) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    Path(path).write_bytes(pem)
    os.chmod(path, 0o600)


def load_rsa_key(path: str | Path) -> RsaKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def load_or_create_rsa_key(path: str | Path) -> RsaKey:
    """Reuse the key at ``path`` so clients that trusted it keep trusting it; create it on first run."""
    if Path(path).exists():
        return load_rsa_key(path)
    key = generate_rsa_key()
    save_rsa_key(key, path)
    return key


def public_key_pem(key: RsaKey) -> str:
    """PKCS#1 "BEGIN RSA PUBLIC KEY" PEM: the format telethon.crypto.rsa.add_key loads."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode("ascii")
    )


def _big_endian(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def rsa_fingerprint(key: RsaKey) -> int:
    """Telegram's key fingerprint: the low 64 bits of SHA1(TL bytes n + TL bytes e), as a signed long."""
    numbers = key.public_key().public_numbers()
    data = TLObject.serialize_bytes(_big_endian(numbers.n)) + TLObject.serialize_bytes(_big_endian(numbers.e))
    return struct.unpack("<q", sha1(data).digest()[-8:])[0]


def rsa_decrypt_raw(key: RsaKey, block: bytes) -> bytes:
    """Textbook RSA (no PKCS padding, as MTProto uses it), via CRT because it is ~3x faster."""
    priv = key.private_numbers()
    c = int.from_bytes(block, "big")
    if c >= priv.public_numbers.n:
        raise ValueError("RSA block is not smaller than the modulus")
    m1 = pow(c, priv.dmp1, priv.p)
    m2 = pow(c, priv.dmq1, priv.q)
    h = (priv.iqmp * (m1 - m2)) % priv.p
    return (m2 + h * priv.q).to_bytes(256, "big")


def rsa_encrypt_raw(n: int, e: int, block: bytes) -> bytes:
    return pow(int.from_bytes(block, "big"), e, n).to_bytes(256, "big")


def rsa_pad_encrypt(key: RsaKey, data: bytes) -> bytes:
    """RSA_PAD as specified at core.telegram.org/mtproto/auth_key (step 4); used by tests to exercise the
    server's RSA_PAD path, since Telethon 1.45 still sends the older SHA1-prefixed form."""
    numbers = key.public_key().public_numbers()
    if len(data) > 144:
        raise ValueError("RSA_PAD data is at most 144 bytes")
    data_with_padding = data + os.urandom(192 - len(data))
    while True:
        temp_key = os.urandom(32)
        data_with_hash = data_with_padding[::-1] + sha256(temp_key + data_with_padding).digest()
        aes_encrypted = aes_ige_encrypt(data_with_hash, temp_key, bytes(32))
        temp_key_xor = bytes(a ^ b for a, b in zip(temp_key, sha256(aes_encrypted).digest(), strict=True))
        block = temp_key_xor + aes_encrypted
        if int.from_bytes(block, "big") < numbers.n:
            return rsa_encrypt_raw(numbers.n, numbers.e, block)


def rsa_decrypt_inner(key: RsaKey, encrypted: bytes) -> tuple[str, bytes]:
    """Decrypt req_DH_params' encrypted_data into ``(form, plaintext)``.

    ``form`` is "rsa_pad" (what current official clients send; plaintext is data_with_padding) or
    "legacy", the ``SHA1(data) + data + random`` 255-byte block Telethon 1.45 still sends. For the legacy
    form the SHA1 covers exactly the TL object, whose length only parsing reveals, so the caller checks
    it (handshake.py).
    """
    plain = rsa_decrypt_raw(key, encrypted)
    # RSA_PAD: temp_key_xor (32) + AES-IGE(reversed data_with_padding (192) + SHA256 (32)).
    temp_key_xor, aes_encrypted = plain[:32], plain[32:]
    temp_key = bytes(a ^ b for a, b in zip(temp_key_xor, sha256(aes_encrypted).digest(), strict=True))
    data_with_hash = aes_ige_decrypt(aes_encrypted, temp_key, bytes(32))
    data_with_padding = data_with_hash[:192][::-1]
    if sha256(temp_key + data_with_padding).digest() == data_with_hash[192:]:
        return "rsa_pad", data_with_padding
    # Telethon encrypts 255 bytes, so the 256-byte big-endian block starts with a zero byte.
    return "legacy", plain[1:] if plain[0] == 0 else plain


# --- AES-256-IGE -------------------------------------------------------------------------------------
#
# `cryptography` has no IGE mode, so IGE is built on one ECB context per message. Each block depends on
# the previous one in both directions, so blocks go through the context one at a time; XOR is done on
# 128-bit ints, which is far cheaper in Python than per-byte loops.


def aes_ige_encrypt(plain: bytes, key: bytes, iv: bytes) -> bytes:
    if len(plain) % 16:
        raise ValueError("IGE plaintext must be a multiple of 16 bytes")
    update = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update
    frm, to = int.from_bytes, int.to_bytes
    c_prev = frm(iv[:16], "little")
    p_prev = frm(iv[16:32], "little")
    out = bytearray()
    for i in range(0, len(plain), 16):
        p = frm(plain[i : i + 16], "little")
        c = frm(update(to(p ^ c_prev, 16, "little")), "little") ^ p_prev
        out += to(c, 16, "little")
        c_prev, p_prev = c, p
    return bytes(out)


def aes_ige_decrypt(cipher: bytes, key: bytes, iv: bytes) -> bytes:
    if len(cipher) % 16:
        raise ValueError("IGE ciphertext must be a multiple of 16 bytes")
    update = Cipher(algorithms.AES(key), modes.ECB()).decryptor().update
    frm, to = int.from_bytes, int.to_bytes
    c_prev = frm(iv[:16], "little")
    p_prev = frm(iv[16:32], "little")
    out = bytearray()
    for i in range(0, len(cipher), 16):
        c = frm(cipher[i : i + 16], "little")
        p = frm(update(to(c ^ p_prev, 16, "little")), "little") ^ c_prev
        out += to(p, 16, "little")
        c_prev, p_prev = c, p
    return bytes(out)


# --- Handshake and MTProto 2.0 key derivation --------------------------------------------------------


def tmp_aes_key_iv(server_nonce: int, new_nonce: int) -> tuple[bytes, bytes]:
    """The temporary AES key/iv that protect server_DH_inner_data and client_DH_inner_data."""
    sn = server_nonce.to_bytes(16, "little", signed=True)
    nn = new_nonce.to_bytes(32, "little", signed=True)
    h1, h2, h3 = sha1(nn + sn).digest(), sha1(sn + nn).digest(), sha1(nn + nn).digest()
    return h1 + h2[:12], h2[12:20] + h3 + nn[:4]


def auth_key_id(auth_key: bytes) -> int:
    """The low 64 bits of SHA1(auth_key), unsigned as Telethon's AuthKey.key_id reads them."""
    return struct.unpack("<Q", sha1(auth_key).digest()[-8:])[0]


def new_nonce_hash(auth_key: bytes, new_nonce: int, number: int) -> int:
    """new_nonce_hash1/2/3 of dh_gen_ok/retry/fail: SHA1(new_nonce + number + auth_key_aux_hash)[4:20]."""
    aux_hash = sha1(auth_key).digest()[:8]
    data = new_nonce.to_bytes(32, "little", signed=True) + bytes([number]) + aux_hash
    return int.from_bytes(sha1(data).digest()[4:20], "little", signed=True)


def msg_key_for(auth_key: bytes, plaintext: bytes, *, from_server: bool) -> bytes:
    """msg_key = SHA256(substr(auth_key, 88 + x, 32) + plaintext)[8:24]; x = 8 server->client, 0 back."""
    x = 8 if from_server else 0
    return sha256(auth_key[88 + x : 120 + x] + plaintext).digest()[8:24]


def message_aes_key_iv(auth_key: bytes, msg_key: bytes, *, from_server: bool) -> tuple[bytes, bytes]:
    """MTProto 2.0 aes_key/aes_iv from msg_key (core.telegram.org/mtproto/description)."""
    x = 8 if from_server else 0
    a = sha256(msg_key + auth_key[x : x + 36]).digest()
    b = sha256(auth_key[x + 40 : x + 76] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


def encrypt_server_message(auth_key: bytes, key_id: int, plaintext: bytes) -> bytes:
    """Wrap salt+session+message plaintext for the client: pads with 12..1024 random bytes to 16."""
    padded = plaintext + os.urandom(-(len(plaintext) + 12) % 16 + 12)
    msg_key = msg_key_for(auth_key, padded, from_server=True)
    key, iv = message_aes_key_iv(auth_key, msg_key, from_server=True)
    return struct.pack("<Q", key_id) + msg_key + aes_ige_encrypt(padded, key, iv)


def decrypt_client_message(auth_key: bytes, body: bytes) -> bytes | None:
    """The plaintext of a client message (after the 8-byte key id), or None if msg_key does not verify."""
    msg_key, cipher = body[8:24], body[24:]
    if len(cipher) % 16 or len(cipher) < 32:
        return None
    key, iv = message_aes_key_iv(auth_key, msg_key, from_server=False)
    plain = aes_ige_decrypt(cipher, key, iv)
    if msg_key_for(auth_key, plain, from_server=False) != msg_key:
        return None
    return plain
