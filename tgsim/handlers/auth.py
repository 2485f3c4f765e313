"""auth.*: login codes, sign-in/sign-up, 2FA (SRP), log-out, authorizations."""

from __future__ import annotations

import secrets
import time

from telethon.tl import functions, types

from tgsim import render, srp
from tgsim.handlers.common import maybe_await, me
from tgsim.model import LoginCode
from tgsim.rpc import Call, RpcError, bad_request, handles, unauthorized
from tgsim.world import TEST_PHONE_RE, normalize_phone

CODE_TTL = 300  # Telegram login codes expire after a few minutes
SRP_TTL = 600
# What Telegram's service account (777000) writes to the logged-in sessions of an account asked for a code.
LOGIN_CODE_TEXT = (
    "Login code: {code}. Do not give this code to anyone, even if they say they are from Telegram!\n\n"
    "This code can be used to log in to your Telegram account. We never ask it for anything else.\n\n"
    "If you didn't request this code by trying to log in on another device, simply ignore this message."
)


def _phone(raw: str) -> str:
    phone = normalize_phone(raw)
    if not phone.isdigit() or not 5 <= len(phone) <= 15:
        raise bad_request("PHONE_NUMBER_INVALID")
    return phone


def _sent_code(call: Call, code: LoginCode) -> types.auth.SentCode:
    uid = call.world.phones.get(code.phone)
    # An account with a live session gets the code in the app; anyone else by SMS.
    in_app = uid is not None and call.world.net.is_online(uid)
    kind = types.auth.SentCodeTypeApp(length=5) if in_app else types.auth.SentCodeTypeSms(length=5)
    return types.auth.SentCode(
        type=kind, phone_code_hash=code.phone_code_hash, next_type=types.auth.CodeTypeSms(), timeout=60
    )


@handles(functions.auth.SendCodeRequest)
async def send_code(call: Call, req: functions.auth.SendCodeRequest) -> types.auth.SentCode:
    """auth.sendCode. Test numbers 99966XYYYY get the code XXXXX (Telegram's test-DC convention); other
    numbers get a random 5-digit code (see World.login_code). A new code invalidates the previous hash
    (PHONE_CODE_EXPIRED); banned numbers get PHONE_NUMBER_BANNED. An account that is logged in somewhere
    gets the code as a message from Telegram's service account (777000) in those sessions, as on
    Telegram."""
    if req.api_id <= 0 or not req.api_hash:
        raise bad_request("API_ID_INVALID")
    phone = _phone(req.phone_number)
    world = call.world
    uid = world.phones.get(phone)
    if uid is not None and world.users[uid].banned:
        raise bad_request("PHONE_NUMBER_BANNED")
    test = TEST_PHONE_RE.match(phone)
    value = test.group(1) * 5 if test else f"{secrets.randbelow(100_000):05d}"
    old = world.codes.get(phone)
    dead = [*old.dead_hashes, old.phone_code_hash][-10:] if old else []
    code = LoginCode(
        phone=phone, code=value, phone_code_hash=secrets.token_hex(9), sent_at=time.time(), dead_hashes=dead
    )
    world.codes[phone] = code
    if uid is not None and call.server is not None and call.server.authorizations(uid, call.session):
        world.service_notify(uid, LOGIN_CODE_TEXT.format(code=value))
    return _sent_code(call, code)


@handles(functions.auth.ResendCodeRequest)
async def resend_code(call: Call, req: functions.auth.ResendCodeRequest) -> types.auth.SentCode:
    """auth.resendCode keeps the phone_code_hash and restarts the expiry clock."""
    code = _pending(call, req.phone_number, req.phone_code_hash)
    code.sent_at = time.time()
    return _sent_code(call, code)


@handles(functions.auth.CancelCodeRequest)
async def cancel_code(call: Call, req: functions.auth.CancelCodeRequest) -> bool:
    """auth.cancelCode: forgets the pending code (a later signIn with that hash is PHONE_CODE_EXPIRED)."""
    _pending(call, req.phone_number, req.phone_code_hash)
    call.world.codes.pop(_phone(req.phone_number), None)
    return True


def _pending(call: Call, phone_number: str, phone_code_hash: str) -> LoginCode:
    """The live code for this phone and hash. An empty hash is PHONE_CODE_HASH_EMPTY; a superseded or
    unknown one, or a code older than CODE_TTL, is PHONE_CODE_EXPIRED."""
    phone = _phone(phone_number)
    if not phone_code_hash:
        raise bad_request("PHONE_CODE_HASH_EMPTY")
    code = call.world.codes.get(phone)
    if code is None or code.phone_code_hash != phone_code_hash:
        raise bad_request("PHONE_CODE_EXPIRED")
    if time.time() - code.sent_at > CODE_TTL:
        raise bad_request("PHONE_CODE_EXPIRED")
    return code


async def _authorize(call: Call, user_id: int) -> types.auth.Authorization:
    call.world.pending_2fa.pop(call.session.auth_key_id, None)
    await maybe_await(call.server.bind_user(call.session, user_id))
    user = call.world.users[user_id]
    user.last_seen = int(time.time())
    return types.auth.Authorization(user=render.user(call.world, user_id, user_id))


@handles(functions.auth.SignInRequest)
async def sign_in(call: Call, req: functions.auth.SignInRequest):
    """auth.signIn: PHONE_CODE_EMPTY / PHONE_CODE_INVALID / PHONE_CODE_EXPIRED for bad codes; an unknown
    number answers auth.authorizationSignUpRequired; an account with 2FA answers 401
    SESSION_PASSWORD_NEEDED and waits for auth.checkPassword on the same auth key."""
    code = _pending(call, req.phone_number, req.phone_code_hash)
    if not req.phone_code:
        raise bad_request("PHONE_CODE_EMPTY")
    if req.phone_code.strip() != code.code:
        raise bad_request("PHONE_CODE_INVALID")
    world = call.world
    uid = world.phones.get(code.phone)
    if uid is None or world.users[uid].deleted:
        code.verified = True  # the same hash may now be used for auth.signUp
        return types.auth.AuthorizationSignUpRequired()
    del world.codes[code.phone]  # a code logs in once
    if world.users[uid].banned:
        raise bad_request("PHONE_NUMBER_BANNED")
    if world.users[uid].password is not None:
        world.pending_2fa[call.session.auth_key_id] = uid
        raise RpcError(401, "SESSION_PASSWORD_NEEDED")
    return await _authorize(call, uid)


@handles(functions.auth.SignUpRequest)
async def sign_up(call: Call, req: functions.auth.SignUpRequest) -> types.auth.Authorization:
    """auth.signUp after signIn said sign-up is required: FIRSTNAME_INVALID for an empty name,
    PHONE_NUMBER_OCCUPIED if the number got an account meanwhile."""
    code = _pending(call, req.phone_number, req.phone_code_hash)
    if not code.verified:
        raise bad_request("PHONE_CODE_INVALID")
    first = (req.first_name or "").strip()
    if not first or len(first) > 64:
        raise bad_request("FIRSTNAME_INVALID")
    world = call.world
    existing = world.phones.get(code.phone)
    if existing is not None and not world.users[existing].deleted:
        raise bad_request("PHONE_NUMBER_OCCUPIED")
    if existing is not None:
        del world.phones[code.phone]  # a deleted account's number can be registered again
    del world.codes[code.phone]
    uid = world.create_user(code.phone, first, (req.last_name or "").strip())
    return await _authorize(call, uid)


def _password_owner(call: Call) -> int:
    if call.user_id is not None:
        return call.user_id
    uid = call.world.pending_2fa.get(call.session.auth_key_id)
    if uid is None:
        raise unauthorized("AUTH_KEY_UNREGISTERED")
    return uid


@handles(functions.account.GetPasswordRequest)
async def get_password(call: Call, req: functions.account.GetPasswordRequest) -> types.account.Password:
    """account.getPassword: fresh SRP parameters (srp_id, B) for the account's 2FA password; also
    allowed between signIn's SESSION_PASSWORD_NEEDED and checkPassword."""
    world = call.world
    uid = _password_owner(call)
    pw = world.users[uid].password
    common = dict(
        new_algo=srp.algo(None),
        new_secure_algo=types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt=secrets.token_bytes(8)),
        secure_random=secrets.token_bytes(32),
    )
    if pw is None:
        return types.account.Password(has_password=False, **common)
    b, big_b = srp.new_challenge(pw)
    srp_id = srp.srp_id()
    now = time.time()
    world.srp_challenges = {k: v for k, v in world.srp_challenges.items() if v[3] > now}
    world.srp_challenges[srp_id] = (uid, b, big_b, now + SRP_TTL)
    return types.account.Password(
        has_password=True,
        current_algo=srp.algo(pw),
        srp_B=big_b.to_bytes(256, "big"),
        srp_id=srp_id,
        hint=pw.hint or None,
        **common,
    )


@handles(functions.auth.CheckPasswordRequest)
async def check_password(call: Call, req: functions.auth.CheckPasswordRequest) -> types.auth.Authorization:
    """auth.checkPassword verifies the SRP proof (M1) without ever seeing the password: a wrong password
    is 400 PASSWORD_HASH_INVALID, an unknown/used srp_id 400 SRP_ID_INVALID."""
    world = call.world
    uid = _password_owner(call)
    check = req.password
    if not isinstance(check, types.InputCheckPasswordSRP):
        raise bad_request("PASSWORD_HASH_INVALID")
    challenge = world.srp_challenges.pop(check.srp_id, None)
    if challenge is None or challenge[0] != uid or challenge[3] < time.time():
        raise bad_request("SRP_ID_INVALID")
    pw = world.users[uid].password
    if pw is None or not srp.verify(pw, challenge[1], challenge[2], check.A, check.M1):
        raise bad_request("PASSWORD_HASH_INVALID")
    return await _authorize(call, uid)


@handles(functions.auth.LogOutRequest)
async def log_out(call: Call, req: functions.auth.LogOutRequest) -> types.auth.LoggedOut:
    """auth.logOut unbinds this auth key; later calls on it are 401 AUTH_KEY_UNREGISTERED."""
    call.require_user()
    await maybe_await(call.server.unbind(call.session))
    return types.auth.LoggedOut()


@handles(functions.account.GetAuthorizationsRequest)
async def get_authorizations(call: Call, req) -> types.account.Authorizations:
    """account.getAuthorizations: every auth key signed in to this account (the protocol layer knows
    their devices and ages)."""
    user = me(call)
    result = await maybe_await(call.server.authorizations(user.id))
    if isinstance(result, types.account.Authorizations):
        return result
    return types.account.Authorizations(authorization_ttl_days=180, authorizations=list(result))


@handles(functions.account.ResetAuthorizationRequest)
async def reset_authorization(call: Call, req: functions.account.ResetAuthorizationRequest) -> bool:
    """account.resetAuthorization terminates another session; an unknown hash is 400 HASH_INVALID."""
    user = me(call)
    ok = await maybe_await(call.server.reset_authorization(user.id, req.hash))
    if not ok:
        raise bad_request("HASH_INVALID")
    return True
