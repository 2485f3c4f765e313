"""What outreach commands do on the session host (see docs/session-host.md): campaign sends, scrape pages,
warm-up actions. Budgets are taken here with the account's own limits (its warm-up plan's, or defaults)."""

from __future__ import annotations

from typing import Any

from accounts import budgets, telegram
from accounts.host.commands import ChatWait, Failed
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.services import account_touch
from accounts.telegram.records import Page, UserAddress
from inbox.services import contact_hash_store
from outreach import scraping, services
from outreach.limits import account_limits


def _require_login(hosted: Hosted) -> None:
    if not hosted.authorized:
        raise Failed("The account is not logged in")


async def take_budget(hosted: Hosted, action: str) -> None:
    """Spend one of the account's ``action`` budget or wait for it (the command is retried later)."""
    limits = await db(account_limits)(account_id=hosted.account_id)
    decision = await db(budgets.take)(account_id=hosted.account_id, action=action, limits=limits)
    if not decision.allowed:
        raise ChatWait(int(decision.retry_after) + 1)


async def send_campaign_message(hosted: Hosted, *, send_id: int) -> dict[str, Any]:
    _require_login(hosted)
    outgoing = await db(services.send_claim)(send_id=send_id, account_id=hosted.account_id)
    if outgoing is None:
        return {"ok": True, "skipped": "not this account's send any more"}
    await take_budget(hosted, "new_dm" if outgoing.step == 0 else "message")
    access_hash = outgoing.access_hash
    if access_hash is None:
        access_hash = await _resolve(hosted, outgoing)
    sent = await telegram.messages.send_message(
        hosted.client,
        peer=UserAddress(outgoing.user_id, access_hash),
        text=outgoing.text,
        random_id=outgoing.random_id,
        media_path=outgoing.media_path,
    )
    await db(services.send_done)(send_id=send_id, message_id=sent.message_id)
    await db(account_touch)(account_id=hosted.account_id)
    return {"ok": True, "message_id": sent.message_id}


async def _resolve(hosted: Hosted, outgoing: services.Outgoing) -> int:
    """No hash of our own for this person: resolve their username (the account's resolve budget)."""
    if not outgoing.username:
        raise Failed("This account cannot address them: no username and no shared chat")
    await take_budget(hosted, "resolve_username")
    person = await telegram.peers.resolve_user(hosted.client, username=outgoing.username)
    if person is None or person.telegram_id != outgoing.user_id:
        raise Failed(f"@{outgoing.username} now belongs to someone else")
    access_hash = person.access_hash or 0
    await db(contact_hash_store)(
        contact_id=outgoing.contact_id, account_id=hosted.account_id, access_hash=access_hash
    )
    return access_hash


async def scrape_page(hosted: Hosted, *, job_id: int, step: int) -> dict[str, Any]:
    _require_login(hosted)
    cursor = await db(scraping.cursor_for)(job_id=job_id, account_id=hosted.account_id, step=step)
    if cursor is None:
        return {"ok": True, "stopped": True}
    if cursor.channel_id is None:
        located = await _locate(hosted, cursor)
        if located is None:
            return {"ok": True, "stopped": True}
        cursor = located
    await take_budget(hosted, "scrape_page")
    page = await _page(hosted, cursor)
    going = await db(scraping.page_store)(
        job_id=job_id,
        account_id=hosted.account_id,
        step=step,
        count=page.count,
        listed=page.listed,
        people=page.people,
    )
    return {"ok": True, "members": len(page.people), "more": going}


async def _locate(hosted: Hosted, cursor: scraping.Cursor) -> scraping.Cursor | None:
    """Find the group, join it if this account is not in it (join budget), and check its members show."""
    try:
        group = await telegram.chats.find_group(hosted.client, target=cursor.target)
    except LookupError as error:
        await db(scraping.job_finish)(job_id=cursor.job_id, state=scraping.State.FAILED, message=str(error))
        return None
    if not group.member:
        await take_budget(hosted, "join")
        await telegram.chats.join(hosted.client, target=group.address)
    info = await telegram.members.group_info(
        hosted.client, channel_id=group.channel_id, access_hash=group.access_hash
    )
    await db(scraping.job_located)(job_id=cursor.job_id, group=group, info=info)
    if info.hidden:
        await db(scraping.job_finish)(
            job_id=cursor.job_id,
            state=scraping.State.FAILED,
            message="This group hides its member list: only its admins can see who is in it",
        )
        return None
    return scraping.Cursor(
        **{**cursor.__dict__, "channel_id": group.channel_id, "channel_hash": group.access_hash}
    )


async def _page(hosted: Hosted, cursor: scraping.Cursor) -> Page:
    """One page. Short FLOOD_WAITs are slept through by Telethon, long ones go to the runner (cooldown);
    both are counted on the job, so its progress shows them."""
    try:
        page = await telegram.members.members_page(
            hosted.client,
            channel_id=cursor.channel_id or 0,
            access_hash=cursor.channel_hash or 0,
            query=cursor.query,
            offset=cursor.offset,
        )
    except Exception as error:
        if telegram.errors.is_flood_wait(error):
            await db(scraping.flood_wait_noted)(job_id=cursor.job_id)
        raise
    if page.flood_waited:
        await db(scraping.flood_wait_noted)(job_id=cursor.job_id)
    return page
