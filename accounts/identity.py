"""Who each account is on Telegram, and the rule that no session is hosted twice.

Telegram kills an auth key used from two places at once (AUTH_KEY_DUPLICATED), and two accounts that
are one Telegram user are two live connections for one user. So each auth key and each Telegram user
belongs to one account. The key is checked before anything connects (an import is refused, and the
unique ``TelegramSession.auth_key_id`` backs the check in the database). The user is known for sure
only once a host has asked Telegram who the session is: a duplicate is then disabled before it takes a
command, and the account that was there first is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from accounts.models import Account, AccountEvent, TelegramSession
from accounts.services import account_disable, event_record
from accounts.sessions import auth_key_id

if TYPE_CHECKING:
    from accounts.telegram.records import Me

# The status reason of an imported account until a host has connected with its session.
IMPORT_VALIDATING = "Imported; validating"


def key_holder(*, auth_key: bytes) -> Account | None:
    """The account whose stored session holds this auth key, if any."""
    row = TelegramSession.objects.filter(auth_key_id=auth_key_id(auth_key)).select_related("account")
    session = row.first()
    return session.account if session is not None else None


def user_holder(*, telegram_id: int, exclude: int | None = None) -> Account | None:
    """Another account signed in as this Telegram user.

    By user id only: a number may have moved to another Telegram user since, and an account that has
    not signed in yet is nobody's duplicate (if it signs in as this user, it is refused then).
    """
    others = Account.objects.exclude(pk=exclude) if exclude is not None else Account.objects.all()
    return others.filter(telegram_id=telegram_id).first()


def duplicate_reason(*, twin: Account) -> str:
    return f"Duplicate of account #{twin.pk} (same Telegram user)"


def import_refusal(*, auth_key: bytes, telegram_id: int | None = None) -> str:
    """Why this session may not be imported (its key or its user is in the fleet already), or ""."""
    holder = key_holder(auth_key=auth_key)
    if holder is not None:
        return (
            f"This session is already in the fleet as account #{holder.pk}. Hosting it twice would "
            "make Telegram end it for both."
        )
    twin = user_holder(telegram_id=telegram_id) if telegram_id else None
    if twin is not None:
        return f"This Telegram user is already in the fleet as account #{twin.pk}."
    return ""


def key_clash(*, account_id: int) -> str:
    """Disable an account whose host tried to store an auth key another account's session holds (the
    database refused the write); returns why. The other account keeps its key."""
    reason = "Its auth key belongs to another account's session"
    account_disable(account_id=account_id, reason=reason)
    return reason


@dataclass(frozen=True)
class Profile:
    """Who an account was on Telegram when last seen, as stored (read with the account by the host)."""

    telegram_id: int | None
    username: str
    first_name: str
    last_name: str
    phone: str
    status_reason: str

    @classmethod
    def of(cls, account: Account) -> Profile:
        return cls(
            telegram_id=account.telegram_id,
            username=account.username,
            first_name=account.first_name,
            last_name=account.last_name,
            phone=account.phone,
            status_reason=account.status_reason,
        )

    def unchanged(self, me: Me) -> bool:
        """Would profile_save write nothing? Then a reconnecting host need not ask the database: the
        account already is this Telegram user (telegram_id is unique, so no other account is)."""
        return (
            self.telegram_id == me.telegram_id
            and (self.username, self.first_name, self.last_name) == (me.username, me.first_name, me.last_name)
            and self.status_reason != IMPORT_VALIDATING
            and not (self.phone.startswith("import-") and me.phone)
        )


def profile_save(*, account_id: int, me: Me) -> str:
    """Store who the account is on Telegram, and return "".

    When another account already is that Telegram user, this one is disabled instead and the reason
    returned: the caller must stop hosting it before it takes a command.
    """
    twin = user_holder(telegram_id=me.telegram_id, exclude=account_id)
    if twin is None:
        try:
            with transaction.atomic():
                _store(account_id=account_id, me=me)
            return ""
        except IntegrityError:
            # Another account took this user between the check and the write (telegram_id is unique).
            twin = user_holder(telegram_id=me.telegram_id, exclude=account_id)
            if twin is None:
                raise
    reason = duplicate_reason(twin=twin)
    account_disable(account_id=account_id, reason=reason)
    return reason


def _store(*, account_id: int, me: Me) -> None:
    account = Account.objects.filter(pk=account_id).only("phone", "telegram_id", "status_reason").first()
    if account is None:
        return
    fields = {
        "telegram_id": me.telegram_id,
        "username": me.username,
        "first_name": me.first_name,
        "last_name": me.last_name,
    }
    if (
        account.phone.startswith("import-")
        and me.phone
        and not Account.objects.filter(phone=me.phone).exists()
    ):
        fields["phone"] = me.phone  # an import without a number learns it now (unless another row has it)
    first_time = account.telegram_id is None and account.status_reason == IMPORT_VALIDATING
    if first_time:
        fields["status_reason"] = "Imported; the session works"
    Account.objects.filter(pk=account_id).update(**fields)
    if first_time:
        event_record(
            account=account, kind=AccountEvent.Kind.VALIDATED, reason=f"Telegram user {me.telegram_id}"
        )
