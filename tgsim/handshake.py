"""Auth key creation, the unencrypted half of MTProto (core.telegram.org/mtproto/auth_key).

req_pq_multi -> resPQ, req_DH_params -> server_DH_params_ok, set_client_DH_params -> dh_gen_ok, exactly
as Telethon 1.45's network/authenticator.py drives it. One Handshake object lives per connection, as
Telethon creates keys on the connection it will use them on.
"""

# ruff: noqa: S324 - the MTProto handshake prescribes SHA1
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from hashlib import sha1

from telethon.extensions import BinaryReader
from telethon.tl import functions, types

from tgsim import crypto

# Telegram's published 2048-bit safe prime (help.getDhConfig returns it too), with generator 3.
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DBF"
    "A336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F6424"
    "77FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B410DBA"
    "74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC"
    "15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF0"
    "34B10403119CD8E3B92FCC5B",
    16,
)
DH_G = 3
_SAFETY = 2 ** (2048 - 64)

_PQ_INNER = (types.PQInnerData, types.PQInnerDataDc, types.PQInnerDataTemp, types.PQInnerDataTempDc)


class HandshakeError(Exception):
    """The client broke the protocol; Telegram drops such connections."""


@dataclass
class NewAuthKey:
    key: bytes
    key_id: int
    salt: int  # the first server salt: new_nonce[0:8] XOR server_nonce[0:8]
    temp_expires: int | None  # set for PFS temporary keys (p_q_inner_data_temp*)


def _is_probable_prime(n: int) -> bool:
    if n < 4:
        return n in (2, 3)
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True  # deterministic for n < 3.3e24 with these bases


def _random_prime(bits: int) -> int:
    while True:
        n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        if _is_probable_prime(n):
            return n


def _be(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class Handshake:
    def __init__(self, rsa_key: crypto.RsaKey, fingerprint: int) -> None:
        self._rsa_key = rsa_key
        self._fingerprint = fingerprint
        self._nonce: int | None = None
        self._server_nonce = 0
        self._p = self._q = 0
        self._new_nonce = 0
        self._a = 0
        self._temp_expires: int | None = None

    def handle(self, request: object) -> tuple[object, NewAuthKey | None]:
        """Answer one plain-text handshake request; the second item is set once the key exists."""
        if isinstance(request, (functions.ReqPqMultiRequest, functions.ReqPqRequest)):
            return self._res_pq(request), None
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._server_dh_params(request), None
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._dh_gen(request)
        raise HandshakeError(f"{type(request).__name__} is not a handshake request")

    def _res_pq(self, req: functions.ReqPqMultiRequest) -> types.ResPQ:
        # Telegram picks pq as a product of two ~31-bit primes the client must factor (a tiny
        # proof of work); p < q as the client reports them back.
        p, q = sorted((_random_prime(31), _random_prime(31)))
        while p == q:
            q = _random_prime(31)
        self._p, self._q = p, q
        self._nonce = req.nonce
        self._server_nonce = int.from_bytes(os.urandom(16), "little", signed=True)
        return types.ResPQ(
            nonce=req.nonce,
            server_nonce=self._server_nonce,
            pq=_be(p * q),
            server_public_key_fingerprints=[self._fingerprint],
        )

    def _check_nonces(self, req: object) -> None:
        if self._nonce is None or req.nonce != self._nonce or req.server_nonce != self._server_nonce:
            raise HandshakeError("nonce mismatch")

    def _server_dh_params(self, req: functions.ReqDHParamsRequest) -> types.ServerDHParamsOk:
        self._check_nonces(req)
        if req.public_key_fingerprint != self._fingerprint:
            raise HandshakeError("unknown RSA fingerprint")
        inner = self._decrypt_pq_inner(req.encrypted_data)
        if (inner.nonce, inner.server_nonce) != (self._nonce, self._server_nonce):
            raise HandshakeError("p_q_inner_data nonce mismatch")
        if (inner.pq, inner.p, inner.q) != (_be(self._p * self._q), _be(self._p), _be(self._q)):
            raise HandshakeError("p_q_inner_data does not factor pq")
        if (req.p, req.q) != (inner.p, inner.q):
            raise HandshakeError("req_DH_params p/q differ from the encrypted ones")
        self._new_nonce = inner.new_nonce
        if isinstance(inner, (types.PQInnerDataTemp, types.PQInnerDataTempDc)):
            self._temp_expires = int(time.time()) + inner.expires_in

        while True:
            # A 320-bit secret exponent: CPython's 2048-bit pow costs ~40 ms with a full-size exponent and
            # scales with exponent length; 320 bits keeps g_a uniformly spread mod dh_prime (3^a wraps the
            # modulus many times over) at an eighth of the cost. Short exponents are standard DH practice.
            self._a = int.from_bytes(os.urandom(40), "big") | (1 << 319)
            g_a = pow(DH_G, self._a, DH_PRIME)
            if _SAFETY <= g_a <= DH_PRIME - _SAFETY:
                break
        answer = bytes(
            types.ServerDHInnerData(
                nonce=self._nonce,
                server_nonce=self._server_nonce,
                g=DH_G,
                dh_prime=DH_PRIME.to_bytes(256, "big"),
                g_a=g_a.to_bytes(256, "big"),
                server_time=int(time.time()),
            )
        )
        with_hash = sha1(answer).digest() + answer
        with_hash += os.urandom(-len(with_hash) % 16)
        key, iv = crypto.tmp_aes_key_iv(self._server_nonce, self._new_nonce)
        return types.ServerDHParamsOk(
            nonce=self._nonce,
            server_nonce=self._server_nonce,
            encrypted_answer=crypto.aes_ige_encrypt(with_hash, key, iv),
        )

    def _decrypt_pq_inner(self, encrypted: bytes) -> object:
        if len(encrypted) != 256:
            raise HandshakeError("encrypted_data must be 256 bytes")
        try:
            form, plain = crypto.rsa_decrypt_inner(self._rsa_key, encrypted)
        except ValueError as exc:
            raise HandshakeError(str(exc)) from exc
        data = plain if form == "rsa_pad" else plain[20:]
        try:
            reader = BinaryReader(data)
            inner = reader.tgread_object()
        except Exception as exc:  # garbage decrypts to any constructor; all of it is a protocol error
            raise HandshakeError("undecodable p_q_inner_data") from exc
        if form == "legacy" and sha1(data[: reader.tell_position()]).digest() != plain[:20]:
            raise HandshakeError("p_q_inner_data SHA1 mismatch")
        if not isinstance(inner, _PQ_INNER):
            raise HandshakeError(f"unexpected {type(inner).__name__} in req_DH_params")
        return inner

    def _dh_gen(self, req: functions.SetClientDHParamsRequest) -> tuple[object, NewAuthKey | None]:
        self._check_nonces(req)
        if not self._a:
            raise HandshakeError("set_client_DH_params before req_DH_params")
        key, iv = crypto.tmp_aes_key_iv(self._server_nonce, self._new_nonce)
        if len(req.encrypted_data) % 16:
            raise HandshakeError("client_DH_inner_data is not block aligned")
        plain = crypto.aes_ige_decrypt(req.encrypted_data, key, iv)
        try:
            reader = BinaryReader(plain[20:])
            inner = reader.tgread_object()
        except Exception as exc:
            raise HandshakeError("undecodable client_DH_inner_data") from exc
        if not isinstance(inner, types.ClientDHInnerData):
            raise HandshakeError("expected client_DH_inner_data")
        if sha1(plain[20 : 20 + reader.tell_position()]).digest() != plain[:20]:
            raise HandshakeError("client_DH_inner_data SHA1 mismatch")
        if (inner.nonce, inner.server_nonce) != (self._nonce, self._server_nonce):
            raise HandshakeError("client_DH_inner_data nonce mismatch")
        g_b = int.from_bytes(inner.g_b, "big")
        if not _SAFETY <= g_b <= DH_PRIME - _SAFETY:
            raise HandshakeError("g_b outside the safe range")

        auth_key = pow(g_b, self._a, DH_PRIME).to_bytes(256, "big")
        if auth_key[0] == 0:
            # Telethon stores the key as minimal big-endian bytes, so a key with a leading zero byte
            # would be 255 bytes on its side and 256 here. dh_gen_retry makes it start over (Telethon
            # treats any non-ok answer as a failed attempt and retries from req_pq_multi).
            short = auth_key.lstrip(b"\0")
            retry = types.DhGenRetry(
                nonce=self._nonce,
                server_nonce=self._server_nonce,
                new_nonce_hash2=crypto.new_nonce_hash(short, self._new_nonce, 2),
            )
            self._nonce = None
            return retry, None

        new_key = NewAuthKey(
            key=auth_key,
            key_id=crypto.auth_key_id(auth_key),
            salt=int.from_bytes(
                bytes(
                    a ^ b
                    for a, b in zip(
                        self._new_nonce.to_bytes(32, "little", signed=True)[:8],
                        self._server_nonce.to_bytes(16, "little", signed=True)[:8],
                        strict=True,
                    )
                ),
                "little",
                signed=True,
            ),
            temp_expires=self._temp_expires,
        )
        ok = types.DhGenOk(
            nonce=self._nonce,
            server_nonce=self._server_nonce,
            new_nonce_hash1=crypto.new_nonce_hash(auth_key, self._new_nonce, 1),
        )
        self._nonce = None  # a key is made once per handshake
        return ok, new_key
