"""Server side of Telegram's 2FA SRP-2048 check (https://core.telegram.org/api/srp).

The server stores only v = g^x mod p, where x is the SHA256/PBKDF2 digest of the password. For each
account.getPassword it picks a fresh b and sends B = k*v + g^b; the client proves knowledge of x by sending
A and M1, and the server recomputes M1 from its own side of the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from telethon.tl import types

from tgsim.model import Password

# The 2048-bit safe prime Telegram uses for SRP (and DH); g = 3 is one of the generators it accepts.
P_HEX = (
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DB"
    "FA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B41"
    "0DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D04B2454BF"
    "6F4FADF034B10403119CD8E3B92FCC5B"
)
P = int(P_HEX, 16)
P_BYTES = bytes.fromhex(P_HEX)
G = 3


def _sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.digest()


def _pad(n: int) -> bytes:
    return n.to_bytes(256, "big")


def password_hash(salt1: bytes, salt2: bytes, password: str) -> int:
    """x for PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow."""
    h1 = _sha256(salt1, password.encode("utf-8"), salt1)
    h2 = _sha256(salt2, h1, salt2)
    h3 = hashlib.pbkdf2_hmac("sha512", h2, salt1, 100_000)
    return int.from_bytes(_sha256(salt2, h3, salt2), "big")


def make_password(password: str, hint: str = "") -> Password:
    # Telegram's salt1 is the server's part plus 32 random bytes the client appended when it set the
    # password; we just generate the whole thing.
    salt1, salt2 = os.urandom(40), os.urandom(16)
    x = password_hash(salt1, salt2, password)
    return Password(salt1=salt1, salt2=salt2, verifier=pow(G, x, P), hint=hint)


def algo(pw: Password | None) -> types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow:
    salt1 = pw.salt1 if pw else os.urandom(8)
    salt2 = pw.salt2 if pw else os.urandom(16)
    return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=salt1, salt2=salt2, g=G, p=P_BYTES
    )


_K = int.from_bytes(_sha256(P_BYTES, _pad(G)), "big")


def new_challenge(pw: Password) -> tuple[int, int]:
    """Return (b, B) for one getPassword; B = k*v + g^b mod p."""
    b = int.from_bytes(os.urandom(256), "big") % P
    big_b = (_K * pw.verifier + pow(G, b, P)) % P
    return b, big_b


def verify(pw: Password, b: int, big_b: int, a_bytes: bytes, m1: bytes) -> bool:
    """Recompute the client's M1 from our side of the shared secret: S = (A * v^u)^b mod p."""
    a = int.from_bytes(a_bytes, "big")
    if not 1 < a < P - 1:
        return False
    u = int.from_bytes(_sha256(_pad(a), _pad(big_b)), "big")
    s = pow(a * pow(pw.verifier, u, P) % P, b, P)
    k = _sha256(_pad(s))
    h_p, h_g = _sha256(P_BYTES), _sha256(_pad(G))
    expected = _sha256(
        bytes(x ^ y for x, y in zip(h_p, h_g, strict=True)),
        _sha256(pw.salt1),
        _sha256(pw.salt2),
        _pad(a),
        _pad(big_b),
        k,
    )
    return hmac.compare_digest(expected, m1)


def srp_id() -> int:
    return secrets.randbits(63)
