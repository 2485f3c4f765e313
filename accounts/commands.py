"""The account's own commands: the login steps, profile, dialogs, joining and leaving, sending, log out.

Each is declared once (accounts.registry) and runs on the session host holding the account.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from accounts import identity, onboarding, outgoing
from accounts import telegram as tg
from accounts.host.current import current_host
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.models import Account, AccountEvent, OutgoingFile
from accounts.registry import (
    CommandError,
    Done,
    InputError,
    NoParams,
    Params,
    Result,
    Unavailable,
    command,
    spend,
)
from accounts.services import account_logged_out, event_record

S = Account.Status
log = logging.getLogger(__name__)

Text = Annotated[str, Field(min_length=1, max_length=4096)]
Peer = str | int  # @username, t.me link, phone or id


def _login_failed(account_id: int, params: Params, error: CommandError) -> None:
    onboarding.login_failed(account_id=account_id, reason=error.reason)


async def _account(hosted: Hosted) -> Account:
    return await db(Account.objects.get)(pk=hosted.account_id)


# --- the login steps (need no signed-in account; never retried blindly) ------------------------------


class LoginStep(Result):
    status: str
    delivery: str = ""
    hint: str = ""
    telegram_id: int | None = None
    username: str = ""


class CodeParams(Params):
    sealed_code: str


class PasswordParams(Params):
    sealed_password: str


@command("auth.send_code", login=False, on_failure=_login_failed)
async def send_code(hosted: Hosted, params: NoParams) -> LoginStep:
    account = await _account(hosted)
    if account.status not in (S.NEW, S.CODE_SENT, S.PASSWORD_NEEDED):
        raise Unavailable(f"The account is {account.get_status_display().lower()}; start a re-login first")
    sent = await tg.auth.send_code(hosted.client, phone=account.phone)
    await _save_session(hosted)  # the auth key the code is bound to must survive a host restart
    await db(onboarding.code_sent)(account_id=hosted.account_id, sent=sent)
    hosted.status = S.CODE_SENT
    return LoginStep(status=S.CODE_SENT, delivery=sent.delivery)


@command("auth.sign_in", login=False, on_failure=_login_failed)
async def sign_in(hosted: Hosted, params: CodeParams) -> LoginStep:
    account = await _account(hosted)
    if account.status != S.CODE_SENT or not account.login_code_hash:
        raise InputError("Request a login code first")
    code = onboarding.open_secret(account_id=hosted.account_id, kind="code", sealed=params.sealed_code)
    result = await tg.auth.sign_in(
        hosted.client, phone=account.phone, code=code.reveal(), phone_code_hash=account.login_code_hash
    )
    if isinstance(result, tg.auth.PasswordNeeded):
        await db(onboarding.password_needed)(account_id=hosted.account_id, hint=result.hint)
        hosted.status = S.PASSWORD_NEEDED
        return LoginStep(status=S.PASSWORD_NEEDED, hint=result.hint)
    return await _signed_in(hosted, result.me)


@command("auth.check_password", login=False, on_failure=_login_failed)
async def check_password(hosted: Hosted, params: PasswordParams) -> LoginStep:
    account = await _account(hosted)
    if account.status != S.PASSWORD_NEEDED:
        raise InputError("The account is not waiting for a 2FA password")
    password = onboarding.open_secret(
        account_id=hosted.account_id, kind="password", sealed=params.sealed_password
    )
    result = await tg.auth.check_password(hosted.client, password=password.reveal())
    return await _signed_in(hosted, result.me)


async def _signed_in(hosted: Hosted, me: tg.records.Me) -> LoginStep:
    logged_out = False
    if await db(identity.user_holder)(telegram_id=me.telegram_id, exclude=hosted.account_id):
        # About to be refused: log the key out first, while the lease is surely ours. The refusal disables
        # the account and revokes its lease, and the host then lets go of this client at once.
        logged_out = await _log_out_quietly(hosted)
    refused = await db(onboarding.signed_in)(account_id=hosted.account_id, me=me)
    if refused:
        await _discard_login(hosted, logged_out=logged_out)
        raise Unavailable(refused, status=S.DISABLED)
    hosted.authorized = True
    hosted.status = S.ACTIVE
    await _save_session(hosted)
    return LoginStep(status=S.ACTIVE, telegram_id=me.telegram_id, username=me.username)


async def _save_session(hosted: Hosted) -> None:
    host = current_host()
    if host is not None:
        await host.checkpoint(hosted)


async def _log_out_quietly(hosted: Hosted) -> bool:
    try:
        await tg.auth.log_out(hosted.client)
        return True
    except Exception:
        log.warning("account %s: logging the refused login out failed", hosted.account_id, exc_info=True)
        return False


async def _discard_login(hosted: Hosted, *, logged_out: bool) -> None:
    """A refused login's key is ours alone and of no use: log it out, so it does not linger among the
    user's sessions, and stop hosting it. The session is erased already; nothing is written again."""
    hosted.lost = True
    if not logged_out:
        await _log_out_quietly(hosted)
    host = current_host()
    if host is not None:
        await host.drop(hosted, save=False, release=False)


# --- signed-in commands ---------------------------------------------------------------------------


class Profile(Result):
    telegram_id: int
    username: str


@command("profile.refresh", read_only=True)
async def refresh_profile(hosted: Hosted, params: NoParams) -> Profile:
    me = await tg.profile.get_me(hosted.client)
    host = current_host()
    assert host is not None  # commands run only on a session host
    refused = await host.identify(hosted, me)
    if refused:
        raise Unavailable(refused, status=S.DISABLED)
    return Profile(telegram_id=me.telegram_id, username=me.username)


class SendParams(Params):
    peer: Peer
    text: Text
    random_id: int  # the same id on a redelivery: Telegram sends it once (invariant 3)
    reply_to: int | None = None
    parse_mode: Literal["md", "html"] | None = None
    silent: bool = False
    link_preview: bool = True


class Sent(Result):
    message_id: int


@command("messages.send", budget="message")
async def send(hosted: Hosted, params: SendParams) -> Sent:
    sent = await tg.messages.send_message(
        hosted.client,
        peer=params.peer,
        text=params.text,
        random_id=params.random_id,
        reply_to=params.reply_to,
        parse_mode=params.parse_mode,
        silent=params.silent,
        link_preview=params.link_preview,
    )
    return Sent(message_id=sent.message_id)


class DialogsParams(Params):
    limit: int = Field(default=100, ge=1, le=500)
    archived: bool | None = None  # only the archive (Telegram's folder 1), only the main list, or both


class Dialog(Result):
    peer_id: int
    kind: str  # private, group, channel
    title: str
    username: str
    unread_count: int
    top_message_id: int
    archived: bool = False


class Dialogs(Result):
    dialogs: list[Dialog]


@command("dialogs.sync", read_only=True)
async def sync_dialogs(hosted: Hosted, params: DialogsParams) -> Dialogs:
    folder = None if params.archived is None else int(params.archived)
    found = await tg.dialogs.get_dialogs(
        hosted.client, account_id=hosted.account_id, limit=params.limit, folder=folder
    )
    return Dialogs(
        dialogs=[
            Dialog(
                peer_id=d.peer.peer_id,
                kind=d.peer.kind,
                title=d.peer.title,
                username=d.peer.username,
                unread_count=d.unread_count,
                top_message_id=d.top_message_id,
                archived=d.archived,
            )
            for d in found
        ]
    )


class ChatParams(Params):
    target: Peer


class Joined(Result):
    peer_id: int
    title: str


@command("chats.join", budget="join")
async def join(hosted: Hosted, params: ChatParams) -> Joined:
    joined = await tg.chats.join(hosted.client, target=str(params.target))
    account = await _account(hosted)
    await db(event_record)(
        account=account,
        kind=AccountEvent.Kind.JOINED,
        reason=joined.title,
        detail={"peer_id": joined.peer_id},
    )
    return Joined(peer_id=joined.peer_id, title=joined.title)


@command("chats.leave", destructive=True)
async def leave(hosted: Hosted, params: ChatParams) -> Done:
    await tg.chats.leave(hosted.client, target=params.target)
    account = await _account(hosted)
    await db(event_record)(account=account, kind=AccountEvent.Kind.LEFT, reason=str(params.target))
    return Done()


@command("auth.log_out", destructive=True)
async def log_out(hosted: Hosted, params: NoParams) -> Done:
    """auth.logOut, then let the account go: the key is dead and the client may not reconnect."""
    await tg.auth.log_out(hosted.client)
    hosted.lost = True
    # Disabled (and its lease revoked) first, so releasing the lease below lets no host claim it.
    await db(account_logged_out)(account_id=hosted.account_id)
    host = current_host()
    if host is not None:
        await host.drop(hosted, save=False, release=True)
    return Done()


# --- messages (API) ---------------------------------------------------------------------------------
# One account's messages as the API reaches them: read, edit, delete, forward, mark read, send a file.

MessageId = Annotated[int, Field(ge=1, le=2**31 - 1)]
MessageIds = Annotated[list[MessageId], Field(min_length=1, max_length=100)]


class HistoryParams(Params):
    peer: Peer
    limit: int = Field(default=20, ge=1, le=100)
    offset_id: int = Field(default=0, ge=0, le=2**31 - 1)
    search: str = Field(default="", max_length=256)


class HistoryMessage(Result):
    id: int
    date: datetime
    out: bool
    sender_id: int | None
    sender_name: str
    text: str
    reply_to: int | None
    media_kind: str


class History(Result):
    messages: list[HistoryMessage]


@command("messages.history", read_only=True)
async def history(hosted: Hosted, params: HistoryParams) -> History:
    found = await tg.messages.history(
        hosted.client,
        account_id=hosted.account_id,
        peer=params.peer,
        limit=params.limit,
        offset_id=params.offset_id,
        search=params.search,
    )
    return History(
        messages=[
            HistoryMessage(
                id=record.telegram_id,
                date=record.date,
                out=record.out,
                sender_id=record.sender.telegram_id if record.sender else None,
                sender_name=record.sender_name,
                text=record.text,
                reply_to=record.reply_to_id,
                media_kind=record.media_kind,
            )
            for record in found
        ]
    )


class EditParams(Params):
    peer: Peer
    message_id: MessageId
    text: Text
    parse_mode: Literal["md", "html"] | None = None


class Edited(Result):
    changed: bool  # False: the message already had that text (a retried edit)


@command("messages.edit", budget="message")
async def edit(hosted: Hosted, params: EditParams) -> Edited:
    try:
        await tg.messages.edit_message(
            hosted.client,
            peer=params.peer,
            message_id=params.message_id,
            text=params.text,
            parse_mode=params.parse_mode,
        )
    except Exception as error:
        if not tg.errors.not_modified(error):
            raise
        return Edited(changed=False)
    return Edited(changed=True)


class DeleteParams(Params):
    peer: Peer
    ids: MessageIds
    revoke: bool = True


class Deleted(Result):
    deleted: int


@command("messages.delete", destructive=True)
async def delete(hosted: Hosted, params: DeleteParams) -> Deleted:
    count = await tg.messages.delete_messages(
        hosted.client, peer=params.peer, ids=list(params.ids), revoke=params.revoke
    )
    return Deleted(deleted=count)


class ForwardParams(Params):
    from_peer: Peer
    ids: MessageIds
    to_peer: Peer
    # One per message, the same on a redelivery: Telegram forwards each once (invariant 3).
    random_ids: Annotated[list[int], Field(min_length=1, max_length=100)]
    silent: bool = False
    drop_author: bool = False

    @model_validator(mode="after")
    def _one_random_id_per_message(self) -> ForwardParams:
        if len(self.random_ids) != len(self.ids):
            raise ValueError("random_ids must match ids one to one")
        return self


class Forwarded(Result):
    message_ids: list[int | None]  # the copies' ids, in the order of ids; None for a message that is gone


@command("messages.forward", budget="message")
async def forward(hosted: Hosted, params: ForwardParams) -> Forwarded:
    new_ids = await tg.messages.forward_messages(
        hosted.client,
        from_peer=params.from_peer,
        ids=list(params.ids),
        to_peer=params.to_peer,
        random_ids=list(params.random_ids),
        silent=params.silent,
        drop_author=params.drop_author,
    )
    return Forwarded(message_ids=new_ids)


class ReadParams(Params):
    peer: Peer
    max_id: int = Field(default=0, ge=0, le=2**31 - 1)  # 0: everything


class ReadUpTo(Result):
    max_id: int


@command("messages.mark_read")
async def mark_read(hosted: Hosted, params: ReadParams) -> ReadUpTo:
    return ReadUpTo(max_id=await tg.messages.mark_read(hosted.client, peer=params.peer, max_id=params.max_id))


class FileParams(Params):
    peer: Peer
    file_id: int  # the accounts.OutgoingFile the caller stored
    caption: str = Field(default="", max_length=1024)
    parse_mode: Literal["md", "html"] | None = None
    random_id: int  # the same id on a redelivery: Telegram sends it once (invariant 3)


def _file_failed(account_id: int, params: FileParams, error: CommandError) -> None:
    outgoing.outgoing_file_forget(file_id=params.file_id)


@command("messages.send_file", budget="message", on_failure=_file_failed)
async def send_file(hosted: Hosted, params: FileParams) -> Sent:
    """Upload and send a stored file. A redelivery of a send that went through answers with the message
    it sent (the bytes are gone by then)."""
    file = await db(OutgoingFile.objects.filter(pk=params.file_id, account_id=hosted.account_id).first)()
    if file is None:
        raise InputError("The file to send is no longer stored")
    if file.sent_message_id is not None:
        return Sent(message_id=file.sent_message_id)
    sent = await tg.messages.send_file(
        hosted.client,
        peer=params.peer,
        data=bytes(file.data),
        name=file.name,
        mime_type=file.mime_type,
        caption=params.caption,
        random_id=params.random_id,
        parse_mode=params.parse_mode,
    )
    await db(outgoing.outgoing_file_sent)(file_id=file.pk, message_id=sent.message_id)
    return Sent(message_id=sent.message_id)


# --- entities and chats (API) ---------------------------------------------------------------------


class EntityParams(Params):
    peer: Peer


class Entity(Result):
    kind: str  # user, group, channel
    id: int  # Telethon's marked id: negative for groups and channels
    name: str  # the user's full name, or the chat's title
    username: str
    bot: bool = False


def _entity(found: tg.records.Entity) -> Entity:
    return Entity(kind=found.kind, id=found.peer_id, name=found.name, username=found.username, bot=found.bot)


@command("entities.resolve", read_only=True)
async def resolve_entity(hosted: Hosted, params: EntityParams) -> Entity:
    """Who or what a username, t.me link, phone or id is, as the account sees it. A lookup by name or
    phone takes from the resolve budget: contacts.resolveUsername is the flood-wait magnet."""
    if tg.peers.marked_id(params.peer) is None:
        await spend(hosted, "resolve_username")
    return _entity(await tg.peers.find(hosted.client, params.peer))


class ParticipantsParams(Params):
    chat: Peer
    limit: int = Field(default=100, ge=1, le=200)
    search: str = Field(default="", max_length=64)


class Participant(Result):
    id: int
    first_name: str
    last_name: str
    username: str
    bot: bool


class Participants(Result):
    total: int
    participants: list[Participant]


@command("chats.participants", read_only=True)
async def participants(hosted: Hosted, params: ParticipantsParams) -> Participants:
    found = await tg.members.participants(
        hosted.client, chat=params.chat, limit=params.limit, search=params.search
    )
    people = [
        Participant(
            id=p.telegram_id,
            first_name=p.first_name,
            last_name=p.last_name,
            username=p.username,
            bot=p.is_bot,
        )
        for p in found.people
    ]
    return Participants(total=found.total, participants=people)


class CreateChatParams(Params):
    title: str = Field(min_length=1, max_length=128)
    about: str = Field(default="", max_length=255)
    kind: Literal["supergroup", "channel"] = "supergroup"


@command("chats.create")
async def create_chat(hosted: Hosted, params: CreateChatParams) -> Entity:
    created = await tg.chats.create(
        hosted.client, title=params.title, about=params.about, broadcast=params.kind == "channel"
    )
    return _entity(created)


@command("chats.delete", destructive=True)
async def delete_chat(hosted: Hosted, params: ChatParams) -> Done:
    """Delete a supergroup or channel for everyone in it; Telegram lets only its creator."""
    await tg.chats.delete(hosted.client, target=params.target)
    return Done()
