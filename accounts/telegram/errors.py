"""Sort Telegram errors once (STYLE habit 4; ARCHITECTURE "Error classes → recovery flows").

Every Telethon error a command can meet maps to one outcome:
- Wait: temporary; retry after ``seconds`` (FLOOD_WAIT, SLOWMODE_WAIT) — the scope says whether the
  whole account waits or only that chat.
- AccountLevel: the account itself changed state (spam-limited, logged out, banned); stop and record.
- InputError: this item is bad (no such user, privacy, not allowed); fail it with a plain reason.
Anything else is a bug or an outage and propagates — never retry a bare Exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from telethon import errors
from telethon.errors.rpcerrorlist import rpc_errors_dict

from accounts.telegram.peers import PeerNotFound


@dataclass(frozen=True)
class Wait:
    seconds: int
    scope: str  # "account" or "chat"
    reason: str


@dataclass(frozen=True)
class AccountLevel:
    status: str  # an Account.Status value
    reason: str
    release_lease: bool
    alert: str  # "warning" or "critical"


@dataclass(frozen=True)
class InputError:
    reason: str
    code: str = ""  # Telegram's error name, when Telegram gave one


Outcome = Wait | AccountLevel | InputError
_RPC_NAMES = {cls: name for name, cls in rpc_errors_dict.items()}

_ACCOUNT_LEVEL: tuple[tuple[type[BaseException], AccountLevel], ...] = (
    (
        errors.AuthKeyNotFound,  # Telegram answered -404: it has forgotten this auth key
        AccountLevel(
            "reauth_required",
            "Telegram no longer knows this session's key (AUTH_KEY_UNREGISTERED)",
            release_lease=True,
            alert="warning",
        ),
    ),
    (
        errors.AuthKeyDuplicatedError,
        AccountLevel(
            "reauth_required",
            "Telegram saw this session used from two places at once (AUTH_KEY_DUPLICATED)",
            release_lease=True,
            alert="critical",
        ),
    ),
    (
        errors.AuthKeyUnregisteredError,
        AccountLevel(
            "reauth_required",
            "Telegram no longer knows this session (AUTH_KEY_UNREGISTERED)",
            release_lease=True,
            alert="warning",
        ),
    ),
    (
        errors.SessionRevokedError,
        AccountLevel(
            "reauth_required",
            "The session was terminated from another device (SESSION_REVOKED)",
            release_lease=True,
            alert="warning",
        ),
    ),
    (
        errors.SessionExpiredError,
        AccountLevel(
            "reauth_required", "The session expired (SESSION_EXPIRED)", release_lease=True, alert="warning"
        ),
    ),
    (
        errors.UserDeactivatedBanError,
        AccountLevel(
            "banned",
            "Telegram banned this account (USER_DEACTIVATED_BAN)",
            release_lease=True,
            alert="critical",
        ),
    ),
    (
        errors.UserDeactivatedError,
        AccountLevel(
            "banned", "The account was deleted (USER_DEACTIVATED)", release_lease=True, alert="critical"
        ),
    ),
    (
        errors.PhoneNumberBannedError,
        AccountLevel(
            "banned",
            "Telegram banned this phone number (PHONE_NUMBER_BANNED)",
            release_lease=True,
            alert="critical",
        ),
    ),
    (
        errors.PeerFloodError,
        AccountLevel(
            "spam_limited",
            "Telegram limited this account for spam (PEER_FLOOD)",
            release_lease=False,
            alert="warning",
        ),
    ),
)

_INPUT: tuple[tuple[type[BaseException], str], ...] = (
    (errors.UserPrivacyRestrictedError, "The recipient's privacy settings do not allow this"),
    (errors.UserIsBlockedError, "The recipient blocked this account"),
    (errors.InputUserDeactivatedError, "The recipient's account was deleted"),
    (errors.UserIsBotError, "Bots cannot be messaged this way"),
    (errors.PeerIdInvalidError, "This account cannot address that chat or user"),
    (errors.UserIdInvalidError, "This account cannot address that user"),
    (errors.ChannelInvalidError, "This account cannot address that channel"),
    (errors.ChannelPrivateError, "The channel is private or this account was removed from it"),
    (errors.ChatWriteForbiddenError, "This account may not write in that chat"),
    (errors.ChatAdminRequiredError, "That needs admin rights in the chat"),
    (errors.UsernameNotOccupiedError, "No one has that username"),
    (errors.UsernameInvalidError, "That username is not valid"),
    (errors.InviteHashExpiredError, "The invite link expired"),
    (errors.InviteHashInvalidError, "The invite link is not valid"),
    (errors.MessageTooLongError, "The message is too long"),
    (errors.MessageEmptyError, "The message is empty"),
    (errors.MessageIdInvalidError, "That message no longer exists"),
    (errors.MessageNotModifiedError, "The message is unchanged"),
    (errors.MessageAuthorRequiredError, "Only the message's author may edit it"),
    (errors.MessageDeleteForbiddenError, "This account may not delete that message"),
    (errors.PhoneNumberInvalidError, "That phone number is not valid"),
    (errors.PhoneCodeInvalidError, "The login code is wrong"),
    (errors.PhoneCodeExpiredError, "The login code expired; request a new one"),
    (errors.PhoneCodeEmptyError, "Enter the login code"),
    (errors.PasswordHashInvalidError, "The 2FA password is wrong"),
    (errors.ApiIdInvalidError, "Telegram rejected the API id / hash pair"),
    (
        errors.PhoneNumberUnoccupiedError,
        "This number has no Telegram account (Telegram says it is not registered); sign it up in a "
        "Telegram app first",
    ),
    (errors.PhoneNumberFloodError, "Too many login attempts for this number; Telegram blocks it for a while"),
    (errors.PhonePasswordFloodError, "Too many wrong 2FA passwords; Telegram blocks new tries for a while"),
    (errors.ChannelsTooMuchError, "This account is in too many channels already"),
    (errors.UserAlreadyParticipantError, "Already a member"),
)


def is_flood_wait(error: BaseException) -> bool:
    """FLOOD_WAIT on the whole account (what a scrape job counts as a flood wait)."""
    return isinstance(error, errors.FloodWaitError)


def already_member(error: BaseException) -> bool:
    """A join of a chat the account is in already (USER_ALREADY_PARTICIPANT)."""
    return isinstance(error, errors.UserAlreadyParticipantError)


def connection_lost(error: BaseException) -> bool:
    """The connection dropped under a request. Telethon hands a request in flight the error that cut its
    connection: a reset or refused socket (OSError), the stream ending mid-frame (asyncio's
    IncompleteReadError, an EOFError) or a frame it could not read (InvalidBufferError, a BufferError).
    The request may or may not have reached Telegram."""
    return isinstance(error, OSError | EOFError | BufferError)


def telegram_trouble(error: BaseException) -> bool:
    """Telegram's own trouble (an internal error, a timeout between its data centres), which Telethon has
    already retried: nothing is wrong with the request or the account, so it is worth running again."""
    return isinstance(
        error,
        errors.ServerError
        | errors.RpcCallFailError
        | errors.RpcMcgetFailError
        | errors.InterdcCallErrorError
        | errors.InterdcCallRichErrorError
        | errors.TimedOutError,
    )


def needs_password(error: BaseException) -> bool:
    """The code was right and the account has 2FA: the login goes on with its password."""
    return isinstance(error, errors.SessionPasswordNeededError)


def classify(error: BaseException) -> Outcome | None:
    """The recovery outcome for a Telegram error, or None for anything that is not one."""
    if isinstance(error, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return Wait(int(error.seconds), "account", f"Telegram asked to wait {error.seconds} s (FLOOD_WAIT)")
    if isinstance(error, errors.SlowModeWaitError):
        return Wait(int(error.seconds), "chat", f"Slow mode: wait {error.seconds} s before writing there")
    for cls, outcome in _ACCOUNT_LEVEL:
        if isinstance(error, cls):
            return outcome
    for cls, reason in _INPUT:
        if isinstance(error, cls):
            return InputError(reason, code=rpc_name(error))
    if isinstance(error, PeerNotFound):
        return InputError(f"This account cannot find {error} (no such user or chat, or not visible to it)")
    if isinstance(error, errors.BadRequestError):
        # An input error Telegram has that we have no plain words for yet: fail the item, keep the code.
        return InputError(f"Telegram refused it ({error.message})", code=error.message)
    return None


def rpc_name(error: BaseException) -> str:
    """Telegram's name for an error it answered with (CHAT_WRITE_FORBIDDEN, …); "" for anything else.
    Telethon's own class for a known error keeps only its HTTP-like group in ``message`` (BAD_REQUEST),
    so the name comes from Telethon's table of errors."""
    if not isinstance(error, errors.RPCError):
        return ""
    return _RPC_NAMES.get(type(error)) or str(error.message or "")


def not_modified(error: BaseException) -> bool:
    """An edit to the text the message already has (MESSAGE_NOT_MODIFIED): what was asked holds already."""
    return isinstance(error, errors.MessageNotModifiedError)
