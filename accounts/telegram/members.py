"""A group's size and its member list, a page at a time."""

from __future__ import annotations

from telethon import TelegramClient, functions, types

from accounts.telegram import internals, peers
from accounts.telegram.records import PAGE, GroupInfo, Page, Participants, UserInfo


async def group_info(client: TelegramClient, *, channel_id: int, access_hash: int) -> GroupInfo:
    full = await client(functions.channels.GetFullChannelRequest(types.InputChannel(channel_id, access_hash)))
    chat = full.full_chat
    hidden = bool(chat.participants_hidden) or not chat.can_view_participants
    return GroupInfo(members=chat.participants_count or 0, hidden=hidden)


async def members_page(
    client: TelegramClient, *, channel_id: int, access_hash: int, query: str | None, offset: int
) -> Page:
    """One page of channels.getParticipants: recent members, or those matching a search query.

    Telethon sleeps through short FLOOD_WAITs by itself (longer ones raise); comparing its record of
    waits before and after is how a slept-through wait is still counted on the job. (That record is per
    client: two pages fetched at once through one account can miss a wait between them, which is why a
    job never has two page commands running; see outreach.scraping.job_resume.)
    """
    wanted = (
        types.ChannelParticipantsSearch(query) if query is not None else types.ChannelParticipantsRecent()
    )
    request = functions.channels.GetParticipantsRequest(
        channel=types.InputChannel(channel_id, access_hash), filter=wanted, offset=offset, limit=PAGE, hash=0
    )
    before = internals.flood_waits(client).get(request.CONSTRUCTOR_ID)
    result = await client(request)
    after = internals.flood_waits(client).get(request.CONSTRUCTOR_ID)
    people: list[UserInfo] = [p for p in map(peers.user_info, result.users) if p is not None]
    return Page(
        count=result.count,
        listed=len(result.participants),
        people=people,
        flood_waited=after is not None and after != before,
    )


async def participants(client: TelegramClient, *, chat: str | int, limit: int, search: str) -> Participants:
    """Up to ``limit`` members of a group or channel, newest first or those whose name or username starts
    with ``search``. Broadcast channels show their members to admins only (CHAT_ADMIN_REQUIRED)."""
    entity = await peers.resolve(client, chat)
    if isinstance(entity, types.InputPeerUser | types.InputPeerSelf):
        raise peers.PeerNotFound(f"{chat} as a group or channel")
    found = await client.get_participants(entity, limit=limit, search=search)
    people = [p for p in map(peers.user_info, found) if p is not None]
    return Participants(total=found.total or len(people), people=people)
