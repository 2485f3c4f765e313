"""Outreach's edge to Telegram: small async functions that turn Telethon objects into our dataclasses.

Only the session host calls these (from outreach.steps).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from telethon import TelegramClient, functions, types

from accounts.telegram.chats import INVITE
from accounts.telegram.messages import Sent, send_message

PAGE = 200  # Telegram's largest getParticipants page


@dataclass(frozen=True)
class Person:
    user_id: int
    access_hash: int
    username: str
    first_name: str
    last_name: str
    phone: str
    is_bot: bool
    is_deleted: bool


@dataclass(frozen=True)
class Group:
    channel_id: int
    access_hash: int
    title: str
    member: bool


@dataclass(frozen=True)
class GroupInfo:
    members: int
    hidden: bool


@dataclass(frozen=True)
class Page:
    count: int
    listed: int  # participants on this page: what the offset advances by
    people: list[Person]
    flood_waited: bool = False  # Telegram asked to wait and Telethon slept it through


def _person(user: types.User) -> Person:
    return Person(
        user_id=user.id,
        access_hash=user.access_hash or 0,
        username=user.username or "",
        first_name=user.first_name or "",
        last_name=user.last_name or "",
        phone=user.phone or "",
        is_bot=bool(user.bot),
        is_deleted=bool(user.deleted),
    )


async def resolve_user(client: TelegramClient, *, username: str) -> Person | None:
    """contacts.resolveUsername: the person and this account's own access_hash for them."""
    result = await client(functions.contacts.ResolveUsernameRequest(username.lstrip("@")))
    for user in result.users:
        if isinstance(user, types.User):
            return _person(user)
    return None


async def send_to_user(
    client: TelegramClient, *, user_id: int, access_hash: int, text: str, random_id: int, media_path: str = ""
) -> Sent:
    """A DM addressed with this account's hash; with media, sendMedia carries the same random_id."""
    peer = types.InputPeerUser(user_id, access_hash)
    if not media_path:
        return await send_message(client, peer=peer, text=text, random_id=random_id)  # type: ignore[arg-type]
    uploaded = await client.upload_file(media_path)
    is_photo = os.path.splitext(media_path)[1].lower() in (".jpg", ".jpeg", ".png", ".webp")
    media: types.TypeInputMedia = (
        types.InputMediaUploadedPhoto(file=uploaded)
        if is_photo
        else types.InputMediaUploadedDocument(
            file=uploaded,
            mime_type="application/octet-stream",
            attributes=[types.DocumentAttributeFilename(os.path.basename(media_path))],
        )
    )
    result = await client(
        functions.messages.SendMediaRequest(peer=peer, media=media, message=text, random_id=random_id)
    )
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateMessageID) and update.random_id == random_id:
            return Sent(update.id, None)
    raise RuntimeError("Telegram's answer to sendMedia carried no message id")


async def find_group(client: TelegramClient, *, target: str) -> Group:
    """A group by @name, t.me/name or invite link, as this account sees it (joining an invite link)."""
    target = target.strip()
    invite = INVITE.search(target)
    if invite:
        checked = await client(functions.messages.CheckChatInviteRequest(invite.group(1)))
        chat = getattr(checked, "chat", None)
        if chat is None:
            joined = await client(functions.messages.ImportChatInviteRequest(invite.group(1)))
            chat = joined.chats[0]
    else:
        name = re.sub(r"^(https?://)?(t\.me/|telegram\.me/)?@?", "", target).strip("/")
        result = await client(functions.contacts.ResolveUsernameRequest(name))
        chat = next((c for c in result.chats if isinstance(c, types.Channel)), None)
        if chat is None:
            raise LookupError(f"{target} is not a group")
    return Group(
        channel_id=chat.id, access_hash=chat.access_hash or 0, title=chat.title, member=not chat.left
    )


async def join_group(client: TelegramClient, *, channel_id: int, access_hash: int) -> None:
    await client(functions.channels.JoinChannelRequest(types.InputChannel(channel_id, access_hash)))


async def group_info(client: TelegramClient, *, channel_id: int, access_hash: int) -> GroupInfo:
    full = await client(functions.channels.GetFullChannelRequest(types.InputChannel(channel_id, access_hash)))
    chat = full.full_chat
    hidden = bool(chat.participants_hidden) or not chat.can_view_participants
    return GroupInfo(members=chat.participants_count or 0, hidden=hidden)


async def members_page(
    client: TelegramClient, *, channel_id: int, access_hash: int, query: str | None, offset: int
) -> Page:
    """One page of channels.getParticipants: recent members, or those matching a search query.

    Telethon sleeps through short FLOOD_WAITs by itself (longer ones raise); it notes every wait in
    ``_flood_waited_requests``, which is how a slept-through wait is still counted on the job.
    """
    wanted = (
        types.ChannelParticipantsSearch(query) if query is not None else types.ChannelParticipantsRecent()
    )
    request = functions.channels.GetParticipantsRequest(
        channel=types.InputChannel(channel_id, access_hash), filter=wanted, offset=offset, limit=PAGE, hash=0
    )
    waits = getattr(client, "_flood_waited_requests", {})
    before = waits.get(request.CONSTRUCTOR_ID)
    result = await client(request)
    people = [_person(u) for u in result.users if isinstance(u, types.User)]
    after = waits.get(request.CONSTRUCTOR_ID)
    return Page(
        count=result.count,
        listed=len(result.participants),
        people=people,
        flood_waited=after is not None and after != before,
    )


async def read_channel(client: TelegramClient, *, target: str) -> int:
    """Open a public channel and mark it read, like a person scrolling through it. Returns messages seen."""
    entity = await client.get_input_entity(target)
    history = await client(
        functions.messages.GetHistoryRequest(
            peer=entity, offset_id=0, offset_date=None, add_offset=0, limit=20, max_id=0, min_id=0, hash=0
        )
    )
    top = max((m.id for m in history.messages), default=0)
    if top and isinstance(entity, types.InputPeerChannel):
        await client(
            functions.channels.ReadHistoryRequest(
                types.InputChannel(entity.channel_id, entity.access_hash), top
            )
        )
    return len(history.messages)


async def join_public(client: TelegramClient, *, target: str) -> str:
    entity = await client.get_input_entity(target)
    if not isinstance(entity, types.InputPeerChannel):
        raise LookupError(f"{target} is not a channel")
    result = await client(
        functions.channels.JoinChannelRequest(types.InputChannel(entity.channel_id, entity.access_hash))
    )
    return getattr(result.chats[0], "title", target) if getattr(result, "chats", None) else target


async def react_latest(client: TelegramClient, *, target: str, emoji: str) -> bool:
    """Put a reaction on the newest message of a channel the account can see."""
    entity = await client.get_input_entity(target)
    history = await client(
        functions.messages.GetHistoryRequest(
            peer=entity, offset_id=0, offset_date=None, add_offset=0, limit=1, max_id=0, min_id=0, hash=0
        )
    )
    if not history.messages:
        return False
    await client(
        functions.messages.SendReactionRequest(
            peer=entity, msg_id=history.messages[0].id, reaction=[types.ReactionEmoji(emoticon=emoji)]
        )
    )
    return True
