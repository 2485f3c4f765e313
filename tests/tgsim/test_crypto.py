"""tgsim's crypto agrees with Telethon's client-side implementation, byte for byte."""

# ruff: noqa: S324 - the MTProto handshake prescribes SHA1
from __future__ import annotations

import os
from hashlib import sha1

import pytest
from telethon.crypto import AES
from telethon.crypto import rsa as telethon_rsa
from telethon.crypto.authkey import AuthKey
from telethon.extensions import BinaryReader
from telethon.helpers import generate_key_data_from_nonce
from telethon.tl import functions, types

from tgsim import crypto
from tgsim.handshake import DH_G, DH_PRIME, Handshake, HandshakeError
from tgsim.mtproto import tl_name


@pytest.fixture(scope="module")
def rsa_key() -> crypto.RsaKey:
    return crypto.generate_rsa_key()


@pytest.mark.parametrize("size", [16, 32, 256, 4096])
def test_aes_ige_matches_telethon(size):
    key, iv, data = os.urandom(32), os.urandom(32), os.urandom(size)
    assert crypto.aes_ige_encrypt(data, key, iv) == AES.encrypt_ige(data, key, iv)
    assert crypto.aes_ige_decrypt(AES.encrypt_ige(data, key, iv), key, iv) == data


def test_fingerprint_and_pem_are_what_telethon_registers(rsa_key):
    telethon_rsa.add_key(crypto.public_key_pem(rsa_key), old=False)
    assert crypto.rsa_fingerprint(rsa_key) in telethon_rsa._server_keys


def test_key_file_round_trip(tmp_path, rsa_key):
    path = tmp_path / "dc.pem"
    crypto.save_rsa_key(rsa_key, path)
    assert crypto.rsa_fingerprint(crypto.load_or_create_rsa_key(path)) == crypto.rsa_fingerprint(rsa_key)


def test_key_derivations_match_telethon():
    auth_key = os.urandom(256)
    ours = AuthKey(auth_key)
    assert crypto.auth_key_id(auth_key) == ours.key_id
    new_nonce = int.from_bytes(os.urandom(32), "little", signed=True)
    assert crypto.new_nonce_hash(auth_key, new_nonce, 1) == ours.calc_new_nonce_hash(new_nonce, 1)
    server_nonce = int.from_bytes(os.urandom(16), "little", signed=True)
    assert crypto.tmp_aes_key_iv(server_nonce, new_nonce) == generate_key_data_from_nonce(
        server_nonce, new_nonce
    )


def _handshake_until_dh(rsa_key, encrypt):
    hs = Handshake(rsa_key, crypto.rsa_fingerprint(rsa_key))
    nonce = int.from_bytes(os.urandom(16), "big", signed=True)
    res_pq, _ = hs.handle(functions.ReqPqMultiRequest(nonce))
    pq = int.from_bytes(res_pq.pq, "big")
    p = hs._p  # factoring pq is Telethon's job, covered end to end; here we peek
    q = pq // p
    be = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")  # noqa: E731
    new_nonce = int.from_bytes(os.urandom(32), "little", signed=True)
    inner = bytes(
        types.PQInnerDataDc(
            pq=res_pq.pq,
            p=be(p),
            q=be(q),
            nonce=nonce,
            server_nonce=res_pq.server_nonce,
            new_nonce=new_nonce,
            dc=2,
        )
    )
    req = functions.ReqDHParamsRequest(
        nonce, res_pq.server_nonce, be(p), be(q), res_pq.server_public_key_fingerprints[0], encrypt(inner)
    )
    return hs, req, new_nonce


def test_rsa_pad_req_dh_params_is_accepted(rsa_key):
    hs, req, new_nonce = _handshake_until_dh(rsa_key, lambda data: crypto.rsa_pad_encrypt(rsa_key, data))
    answer, _ = hs.handle(req)
    assert isinstance(answer, types.ServerDHParamsOk)
    key, iv = generate_key_data_from_nonce(req.server_nonce, new_nonce)
    plain = AES.decrypt_ige(answer.encrypted_answer, key, iv)
    inner = BinaryReader(plain[20:]).tgread_object()
    assert isinstance(inner, types.ServerDHInnerData)
    assert int.from_bytes(inner.dh_prime, "big") == DH_PRIME and inner.g == DH_G


def test_tampered_req_dh_params_is_refused(rsa_key):
    def garbage(data: bytes) -> bytes:
        return crypto.rsa_encrypt_raw(
            rsa_key.public_key().public_numbers().n, 65537, b"\0" + sha1(b"x").digest() + os.urandom(235)
        )

    hs, req, _ = _handshake_until_dh(rsa_key, garbage)
    with pytest.raises(HandshakeError):
        hs.handle(req)


def test_tl_names_follow_telegram():
    assert tl_name(functions.messages.SendMessageRequest) == "messages.sendMessage"
    assert tl_name(functions.help.GetConfigRequest) == "help.getConfig"
    assert tl_name(functions.PingRequest) == "ping"
    assert tl_name(functions.InvokeWithLayerRequest) == "invokeWithLayer"
