"""Who the account is on Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from telethon import TelegramClient, functions, types

from accounts.models import Account

# The status reason of an imported account until a host has connected with its session.
IMPORT_VALIDATING = "Imported; validating"


@dataclass(frozen=True)
class Me:
    telegram_id: int
    username: str
    first_name: str
    last_name: str
    phone: str


async def get_me(client: TelegramClient) -> Me:
    """Ask Telegram for the signed-in user (a cheap call that also proves the session works).

    Raw users.getUsers rather than ``client.get_me()``, which turns every 401 (a ban included) into None:
    the recovery flow needs to know which error it was.
    """
    (user,) = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
    return Me(user.id, user.username or "", user.first_name or "", user.last_name or "", user.phone or "")


def profile_save(*, account_id: int, me: Me) -> bool:
    """Store who the account is on Telegram. An import that turns out to be a Telegram user (or number)
    another account already drives is disabled as a duplicate instead: two rows would mean two
    connections for one user. Returns False for such a duplicate."""
    twin = duplicate_of(account_id=account_id, me=me)
    if twin is not None:
        from accounts.services import account_disable

        account_disable(account_id=account_id, reason=f"Duplicate of account #{twin.pk} (same Telegram user)")
        return False
    fields = {
        "telegram_id": me.telegram_id,
        "username": me.username,
        "first_name": me.first_name,
        "last_name": me.last_name,
    }
    account = Account.objects.filter(pk=account_id).only("phone", "telegram_id", "status_reason").first()
    if account is None:
        return False
    if account.phone.startswith("import-") and me.phone:
        fields["phone"] = me.phone  # an import without a number learns it now
    first_time = account.telegram_id is None and account.status_reason == IMPORT_VALIDATING
    if first_time:
        fields["status_reason"] = "Imported; the session works"
    Account.objects.filter(pk=account_id).update(**fields)
    if first_time:
        from accounts.services import event_record

        event_record(account=account, kind="validated", reason=f"Telegram user {me.telegram_id}")
    return True


def duplicate_of(*, account_id: int, me: Me) -> Account | None:
    """Another account that is the same Telegram user, by user id or by phone number."""
    others = Account.objects.exclude(pk=account_id)
    twin = others.filter(telegram_id=me.telegram_id).first()
    if twin is None and me.phone:
        twin = others.filter(phone=me.phone).first()
    return twin
