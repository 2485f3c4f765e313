"""Outreach: audiences (create, import rows), campaigns (create, start, pause, progress) and scrape jobs
(start, progress, cancel), through outreach's own services, selectors and imports.

A key sees the campaigns whose every sender is one of its accounts and the scrape jobs of its accounts;
audiences belong to no account, so every outreach key sees them (names and sizes, never their people)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, Field

from api.tools import Call, Params, TelegramText, fail, tool
from crm.parsing import MAX_ID
from outreach import explain, imports, scraping, selectors, services, spintax
from outreach.models import Audience, Campaign, ScrapeJob

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Not blank, and no NUL (PostgreSQL text refuses it): what the console's forms ask of the same fields.
WRITTEN = r"^[^\x00]*[^\x00\s][^\x00]*$"
Template = Annotated[str, Field(min_length=1, max_length=spintax.MAX_LENGTH, pattern=WRITTEN)]
MAX_IMPORT_ROWS = 5_000  # per call: a bigger list is several calls, each answered within the request


class Page(Params):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)


# --- audiences -------------------------------------------------------------------------------------


class AudienceRow(BaseModel):
    id: int
    name: str
    size: int
    require_username: bool
    exclude_contacted: bool
    exclude_opted_out: bool
    created_at: datetime


class Audiences(BaseModel):
    audiences: list[AudienceRow]
    has_more: bool


@tool("audiences_list", "GET", "/outreach/audiences", scope="outreach:manage", read_only=True)
def audiences_list(call: Call, params: Page) -> Audiences:
    """Audiences, newest first, with their sizes and filters."""
    page = list(selectors.audience_list()[params.offset : params.offset + params.limit + 1])
    return Audiences(
        audiences=[_audience(a) for a in page[: params.limit]], has_more=len(page) > params.limit
    )


class AudienceParams(Params):
    name: str = Field(min_length=1, max_length=120, pattern=WRITTEN)
    require_username: bool = False
    exclude_contacted: bool = Field(default=False, description="Leave out anyone a campaign reached")
    exclude_opted_out: bool = True


@tool("audience_create", "POST", "/outreach/audiences", scope="outreach:manage")
def audience_create(call: Call, params: AudienceParams) -> AudienceRow:
    """Create an empty audience; its filters apply whenever a campaign starts from it."""
    try:
        audience = services.audience_create(**params.model_dump())
    except services.AudienceError as error:
        raise fail(409, "conflict", str(error)) from None
    return _audience(audience, size=0)


class ImportRow(Params):
    """One person, as a CSV import's row: a user_id, or the username or phone of a known contact."""

    user_id: Id | None = None
    username: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=32)
    first_name: str = Field(default="", max_length=128)
    last_name: str = Field(default="", max_length=128)


class ImportParams(Params):
    audience: Id
    rows: list[ImportRow] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)


class Rejected(BaseModel):
    row: int  # its position in ``rows``, from 1
    reason: str


class ImportResult(BaseModel):
    added: int
    known: int  # rows naming people already in the audience
    rejected: list[Rejected]


@tool("audience_import", "POST", "/outreach/audiences/{audience}/rows", scope="outreach:manage")
def audience_import(call: Call, params: ImportParams) -> ImportResult:
    """Add people to the audience (at most 5,000 rows a call); the rows refused are listed with why."""
    audience = Audience.objects.filter(pk=params.audience).first()
    if audience is None:
        raise fail(404, "not_found", "No such audience")
    rows = [
        {name: str(value) for name, value in row.model_dump().items() if value not in (None, "")}
        for row in params.rows
    ]
    report = imports.audience_import_rows(audience=audience, rows=rows)
    return ImportResult(
        added=report.added,
        known=report.known,
        rejected=[Rejected(row=line, reason=reason) for line, reason in report.errors],
    )


def _audience(audience: Audience, size: int | None = None) -> AudienceRow:
    return AudienceRow(
        id=audience.pk,
        name=audience.name,
        size=size if size is not None else getattr(audience, "size", 0),
        require_username=audience.require_username,
        exclude_contacted=audience.exclude_contacted,
        exclude_opted_out=audience.exclude_opted_out,
        created_at=audience.created_at,
    )


# --- campaigns -------------------------------------------------------------------------------------


class CampaignRow(BaseModel):
    id: int
    name: str
    state: str  # draft, running, paused, finished, archived
    template: str
    audience: int
    senders: list[int]
    recipients: int
    daily_cap: int
    gap_min: int
    gap_max: int
    window_start: time
    window_end: time
    timezone: str
    stop_on_reply: bool
    allow_recontact: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Campaigns(BaseModel):
    campaigns: list[CampaignRow]
    has_more: bool


@tool("campaigns_list", "GET", "/outreach/campaigns", scope="outreach:manage", read_only=True)
def campaigns_list(call: Call, params: Page) -> Campaigns:
    """The key's campaigns (every sender one of its accounts), newest first."""
    found = selectors.campaigns_of(accounts=call.key.accounts.all()).prefetch_related("senders")
    page = list(found[params.offset : params.offset + params.limit + 1])
    return Campaigns(
        campaigns=[_campaign(c) for c in page[: params.limit]], has_more=len(page) > params.limit
    )


class FollowUpParams(Params):
    after_seconds: int = Field(ge=0, le=365 * 86_400, description="After the previous message, without reply")
    template: Template


class CampaignParams(Params):
    name: str = Field(min_length=1, max_length=120, pattern=WRITTEN)
    template: Template = Field(description="Spintax: {Hi|Hello} {{first_name|there}}")
    audience: Id
    senders: list[Id] = Field(min_length=1, max_length=100, description="Accounts of this key")
    follow_ups: list[FollowUpParams] = Field(default_factory=list, max_length=10)
    daily_cap: int = Field(default=20, ge=1, le=10_000, description="Messages per sender per day")
    gap_min: int = Field(default=60, ge=0, le=86_400, description="Seconds between two sends of one account")
    gap_max: int = Field(default=300, ge=0, le=86_400)
    window_start: time = time(9, 0)
    window_end: time = Field(default=time(18, 0), description="The same as window_start: all day")
    timezone: str = Field(default="UTC", min_length=1, max_length=64, pattern=WRITTEN)
    stop_on_reply: bool = True
    allow_recontact: bool = Field(default=False, description="Also write to people other campaigns reached")


@tool("campaign_create", "POST", "/outreach/campaigns", scope="outreach:manage")
def campaign_create(call: Call, params: CampaignParams) -> CampaignRow:
    """Create a draft campaign from a spintax template, an audience and sending accounts of this key."""
    senders = list(call.key.accounts.filter(pk__in=params.senders))
    if len(senders) != len(set(params.senders)):
        raise fail(404, "not_found", "No such account for this key among the senders")
    audience = Audience.objects.filter(pk=params.audience).first()
    if audience is None:
        raise fail(404, "not_found", "No such audience")
    settings = params.model_dump(exclude={"name", "template", "audience", "senders", "follow_ups"})
    try:
        campaign = services.campaign_create(
            name=params.name,
            template=params.template,
            audience=audience,
            senders=senders,
            follow_ups=[(timedelta(seconds=f.after_seconds), f.template) for f in params.follow_ups],
            **settings,
        )
    except services.CampaignError as error:
        raise fail(400, "rejected", str(error)) from None
    return _campaign(_key_campaign(call, campaign.pk))


class CampaignId(Params):
    campaign: Id


class Figures(BaseModel):
    sent: int  # people reached (their first message left)
    replied: int
    failed: int
    skipped: int
    planned: int
    reply_rate: float
    example: TelegramText  # for a variant: one text it produced


class Why(BaseModel):
    code: str  # draft, paused, window, cap, budget, senders, no_senders, unreachable, audience_empty, …
    text: str


class Progress(BaseModel):
    campaign: CampaignRow
    total: Figures
    by_account: dict[TelegramText, Figures]  # "name (#account id)"
    by_variant: dict[TelegramText, Figures]
    skip_reasons: dict[TelegramText, int]
    why: list[Why]  # why nothing is sent now (empty while it sends); docs/outreach.md lists the codes
    notes: list[Why]  # what holds back part of it
    next_send_at: datetime | None
    finish_at: datetime | None  # an estimate


@tool("campaign_progress", "GET", "/outreach/campaigns/{campaign}", scope="outreach:manage", read_only=True)
def campaign_progress(call: Call, params: CampaignId) -> Progress:
    """The campaign with its figures: sent, replied, failed, skipped and planned, in total, per sending
    account and per first-message variant, why people were skipped, why nothing is sent right now (if
    so), the next send and the estimated finish."""
    campaign = _key_campaign(call, params.campaign)
    stats = selectors.campaign_stats(campaign=campaign)
    found = explain.campaign_explain(campaign=campaign)
    return Progress(
        campaign=_campaign(campaign),
        total=_figures(stats.total),
        by_account={name: _figures(f) for name, f in stats.by_account.items()},
        by_variant={name: _figures(f) for name, f in stats.by_variant.items()},
        skip_reasons=stats.skip_reasons,
        why=[Why(code=r.code, text=r.text) for r in found.reasons],
        notes=[Why(code=r.code, text=r.text) for r in found.notes],
        next_send_at=found.next_send_at,
        finish_at=found.finish_at,
    )


@tool("campaign_start", "POST", "/outreach/campaigns/{campaign}/start", scope="outreach:manage")
def campaign_start(call: Call, params: CampaignId) -> CampaignRow:
    """Start a draft campaign (its audience becomes its recipients) or resume a paused one."""
    campaign = _key_campaign(call, params.campaign)
    try:
        if campaign.state == Campaign.State.PAUSED:
            services.campaign_resume(campaign=campaign)
        else:
            services.campaign_start(campaign=campaign)
    except services.CampaignError as error:
        raise fail(409, "conflict", str(error)) from None
    return _campaign(_key_campaign(call, campaign.pk))


@tool("campaign_pause", "POST", "/outreach/campaigns/{campaign}/pause", scope="outreach:manage")
def campaign_pause(call: Call, params: CampaignId) -> CampaignRow:
    """Pause a running campaign: nothing more is queued, and queued sends wait for it to resume."""
    campaign = _key_campaign(call, params.campaign)
    if campaign.state != Campaign.State.RUNNING:
        raise fail(409, "conflict", f"The campaign is {campaign.get_state_display().lower()}, not running")
    services.campaign_pause(campaign=campaign)
    return _campaign(_key_campaign(call, campaign.pk))


def _key_campaign(call: Call, campaign_id: int) -> Campaign:
    found = (
        selectors.campaigns_of(accounts=call.key.accounts.all())
        .prefetch_related("senders")
        .filter(pk=campaign_id)
        .first()
    )
    if found is None:
        raise fail(404, "not_found", "No such campaign for this key")
    return found


def _campaign(campaign: Campaign) -> CampaignRow:
    return CampaignRow(
        id=campaign.pk,
        name=campaign.name,
        state=campaign.state,
        template=campaign.template,
        audience=campaign.audience_id,
        senders=sorted(account.pk for account in campaign.senders.all()),
        recipients=getattr(campaign, "recipient_count", 0),
        daily_cap=campaign.daily_cap,
        gap_min=campaign.gap_min,
        gap_max=campaign.gap_max,
        window_start=campaign.window_start,
        window_end=campaign.window_end,
        timezone=campaign.timezone,
        stop_on_reply=campaign.stop_on_reply,
        allow_recontact=campaign.allow_recontact,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
    )


def _figures(figures: selectors.Figures) -> Figures:
    return Figures(**dataclasses.asdict(figures), reply_rate=figures.reply_rate)


# --- scrape jobs -----------------------------------------------------------------------------------


class ScrapeRow(BaseModel):
    id: int
    account: int
    target: str
    audience: int
    state: str  # running, paused, cancelled, done, incomplete, failed
    message: TelegramText
    title: TelegramText  # the group's title, as Telegram gave it
    total: int  # members Telegram says the group has
    pages: int
    members: int  # distinct members stored
    flood_waits: int
    percent: int
    eta_seconds: int | None
    started_at: datetime
    finished_at: datetime | None


class ScrapeParams(Params):
    target: str = Field(min_length=1, max_length=255, pattern=WRITTEN)
    audience: Id | None = Field(default=None, description="Where members go; a new audience if left out")


@tool("scrape_start", "POST", "/accounts/{account}/scrapes", scope="outreach:manage")
def scrape_start(call: Call, params: ScrapeParams) -> ScrapeRow:
    """Collect a group's members (@username or link) through the account into an audience."""
    assert call.account is not None
    audience = None
    if params.audience is not None:
        audience = Audience.objects.filter(pk=params.audience).first()
        if audience is None:
            raise fail(404, "not_found", "No such audience")
    try:
        job = scraping.job_create(account=call.account, target=params.target, audience=audience)
    except scraping.ScrapeError as error:
        raise fail(409, "unavailable", str(error), status=call.account.status) from None
    return _scrape(job)


class ScrapeId(Params):
    job: Id


@tool("scrape_progress", "GET", "/outreach/scrapes/{job}", scope="outreach:manage", read_only=True)
def scrape_progress(call: Call, params: ScrapeId) -> ScrapeRow:
    """Where a scrape job stands: pages, members, flood waits, percent and an ETA."""
    return _scrape(_key_job(call, params.job))


@tool("scrape_cancel", "POST", "/outreach/scrapes/{job}/cancel", scope="outreach:manage", destructive=True)
def scrape_cancel(call: Call, params: ScrapeId) -> ScrapeRow:
    """Stop a running or paused scrape job; the members collected so far stay in its audience."""
    job = _key_job(call, params.job)
    scraping.job_cancel(job=job)
    return _scrape(_key_job(call, job.pk))


def _key_job(call: Call, job_id: int) -> ScrapeJob:
    found = ScrapeJob.objects.filter(pk=job_id, account__in=call.key.accounts.all()).first()
    if found is None:
        raise fail(404, "not_found", "No such scrape job for this key")
    return found


def _scrape(job: ScrapeJob) -> ScrapeRow:
    progress = scraping.job_progress(job)
    return ScrapeRow(
        id=job.pk,
        account=job.account_id,
        target=job.target,
        audience=job.audience_id,
        state=job.state,
        message=job.message,
        title=job.title,
        total=job.total,
        pages=progress.pages,
        members=progress.members,
        flood_waits=progress.flood_waits,
        percent=progress.percent,
        eta_seconds=progress.eta_seconds,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
