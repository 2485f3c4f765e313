"""Outreach's account commands: a campaign send, a scrape page, a warm-up action. Budgets beyond the
declared one (a new DM, resolving a username, joining a group) are spent inside the body, by the same
policy (accounts.registry.spend)."""

from __future__ import annotations

import random
import secrets

from accounts import telegram as tg
from accounts.host.hosted import Hosted
from accounts.host.orm import db
from accounts.registry import CommandError, InputError, Params, Result, command, spend
from accounts.telegram.records import Page, UserAddress
from inbox.services import contact_hash_store
from outreach import scraping, services, warmup
from outreach.models import WarmupAction


class SendParams(Params):
    send_id: int


class CampaignSent(Result):
    message_id: int | None = None
    skipped: str = ""


def _send_failed(account_id: int, params: SendParams, error: CommandError) -> None:
    services.send_failed(
        send_id=params.send_id, account_id=account_id, reason=error.reason, status=error.status
    )


@command("outreach.send", on_failure=_send_failed)
async def send(hosted: Hosted, params: SendParams) -> CampaignSent:
    outgoing = await db(services.send_claim)(send_id=params.send_id, account_id=hosted.account_id)
    if outgoing is None:
        return CampaignSent(skipped="not this account's send any more")
    await spend(hosted, "new_dm" if outgoing.step == 0 else "message")
    access_hash = outgoing.access_hash
    if access_hash is None:
        access_hash = await _resolve(hosted, outgoing)
    sent = await tg.messages.send_message(
        hosted.client,
        peer=UserAddress(outgoing.user_id, access_hash),
        text=outgoing.text,
        random_id=outgoing.random_id,
        media_path=outgoing.media_path,
    )
    await db(services.send_done)(send_id=params.send_id, message_id=sent.message_id)
    return CampaignSent(message_id=sent.message_id)


async def _resolve(hosted: Hosted, outgoing: services.Outgoing) -> int:
    """No hash of our own for this person: resolve their username (the account's resolve budget)."""
    if not outgoing.username:
        raise InputError("This account cannot address them: no username and no shared chat")
    await spend(hosted, "resolve_username")
    person = await tg.peers.resolve_user(hosted.client, username=outgoing.username)
    if person is None or person.telegram_id != outgoing.user_id:
        raise InputError(f"@{outgoing.username} now belongs to someone else")
    access_hash = person.access_hash or 0
    await db(contact_hash_store)(
        contact_id=outgoing.contact_id, account_id=hosted.account_id, access_hash=access_hash
    )
    return access_hash


class PageParams(Params):
    job_id: int
    step: int  # the job's cursor step this command was queued for


class Scraped(Result):
    members: int = 0
    more: bool = False
    stopped: bool = False


def _scrape_failed(account_id: int, params: PageParams, error: CommandError) -> None:
    scraping.job_finish(job_id=params.job_id, state=scraping.State.FAILED, message=error.reason)


@command("scrape.page", read_only=True, on_failure=_scrape_failed)
async def scrape_page(hosted: Hosted, params: PageParams) -> Scraped:
    cursor = await db(scraping.cursor_for)(
        job_id=params.job_id, account_id=hosted.account_id, step=params.step
    )
    if cursor is None:
        await db(scraping.job_nudge)(job_id=params.job_id)
        return Scraped(stopped=True)
    if cursor.channel_id is None:
        located = await _locate(hosted, cursor)
        if located is None:
            return Scraped(stopped=True)
        cursor = located
    await spend(hosted, "scrape_page")
    page = await _page(hosted, cursor)
    going = await db(scraping.page_store)(
        job_id=params.job_id,
        account_id=hosted.account_id,
        step=params.step,
        count=page.count,
        listed=page.listed,
        people=page.people,
    )
    return Scraped(members=len(page.people), more=going)


async def _locate(hosted: Hosted, cursor: scraping.Cursor) -> scraping.Cursor | None:
    """Find the group, join it if this account is not in it (join budget), and check its members show."""
    try:
        group = await tg.chats.find_group(hosted.client, target=cursor.target)
    except LookupError as error:
        await db(scraping.job_finish)(job_id=cursor.job_id, state=scraping.State.FAILED, message=str(error))
        return None
    if not group.member:
        await spend(hosted, "join")
        try:
            await tg.chats.join(hosted.client, target=group.address)
        except Exception as error:
            # Two page commands of one job may locate the group at once (a resume while the first was
            # queued): the second finds the account a member already, which is what it wanted.
            if not tg.errors.already_member(error):
                raise
    info = await tg.members.group_info(
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
        page = await tg.members.members_page(
            hosted.client,
            channel_id=cursor.channel_id or 0,
            access_hash=cursor.channel_hash or 0,
            query=cursor.query,
            offset=cursor.offset,
        )
    except Exception as error:
        if tg.errors.is_flood_wait(error):
            await db(scraping.flood_wait_noted)(job_id=cursor.job_id)
        raise
    if page.flood_waited:
        await db(scraping.flood_wait_noted)(job_id=cursor.job_id)
    return page


SMALL_TALK = [
    "Hi! How is your week going?",
    "Morning :)",
    "Did you see the news today?",
    "Ha, agreed",
    "Talk later?",
    "Thanks for yesterday!",
]


class ActionParams(Params):
    action_id: int


class Acted(Result):
    kind: str = ""
    detail: str = ""
    skipped: str = ""


def _action_failed(account_id: int, params: ActionParams, error: CommandError) -> None:
    warmup.action_finished(action_id=params.action_id, ok=False, detail=error.reason)


@command("warmup.act", on_failure=_action_failed)
async def warmup_act(hosted: Hosted, params: ActionParams) -> Acted:
    """One warm-up action: read a channel, join one, react, chat with a pool account."""
    action = await db(warmup.action_load)(action_id=params.action_id)
    if action is None or action.plan.account_id != hosted.account_id:
        return Acted(skipped="no such action for this account")
    if action.ok:
        return Acted(skipped="already done")  # a redelivered command
    detail = await _act(hosted, action.kind, action.target)
    await db(warmup.action_finished)(action_id=params.action_id, ok=True, detail=detail)
    return Acted(kind=action.kind, detail=detail)


async def _act(hosted: Hosted, kind: str, target: str) -> str:
    client = hosted.client
    if kind == WarmupAction.Kind.READ:
        seen = await tg.messages.read_channel(client, target=target)
        return f"read {seen} posts in {target}"
    if kind == WarmupAction.Kind.JOIN:
        await spend(hosted, "join")
        try:
            joined = await tg.chats.join(client, target=target)
        except Exception as error:
            # The account is in it already (an earlier plan day joined it, or this action ran before and
            # its outcome was not recorded): what the action wanted is true.
            if not tg.errors.already_member(error):
                raise
            return f"already a member of {target}"
        return f"joined {joined.title or target}"
    if kind == WarmupAction.Kind.REACT:
        emoji = random.choice(warmup.EMOJI)
        reacted = await tg.messages.react_latest(client, target=target, emoji=emoji)
        return f"reacted {emoji} in {target}" if reacted else f"nothing to react to in {target}"
    if kind == WarmupAction.Kind.CHAT:
        await spend(hosted, "message")
        await tg.messages.send_message(
            client, peer=f"@{target}", text=random.choice(SMALL_TALK), random_id=secrets.randbits(63)
        )
        return f"wrote to @{target}"
    raise InputError(f"unknown warm-up action {kind}")
