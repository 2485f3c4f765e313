"""Reads for outreach: audience members with their filters, campaign figures, job progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from inbox.models import Contact
from outreach.limits import plan_day
from outreach.models import Audience, Campaign, FollowUp, Recipient, ScrapeJob, Send, WarmupPlan


def audience_contacts(*, audience: Audience) -> QuerySet[Contact]:
    """The audience's contacts with its filters applied (username, contacted before, opted out)."""
    contacts = Contact.objects.filter(id__in=audience.members.values("contact_id"))
    if audience.require_username:
        contacts = contacts.exclude(username="")
    if audience.exclude_opted_out:
        contacts = contacts.filter(opted_out=False)
    if audience.exclude_contacted:
        reached = Recipient.objects.filter(contact_id=OuterRef("pk"), first_sent_at__isnull=False)
        contacts = contacts.exclude(Exists(reached))
    return contacts


def audience_list() -> QuerySet[Audience]:
    return Audience.objects.annotate(size=Count("members")).order_by("-created_at", "-id")


@dataclass
class Figures:
    sent: int = 0
    replied: int = 0
    failed: int = 0
    skipped: int = 0
    planned: int = 0
    example: str = ""  # for a variant: one text it produced

    @property
    def reply_rate(self) -> float:
        return self.replied / self.sent if self.sent else 0.0


@dataclass
class CampaignStats:
    total: Figures
    recipients: int
    by_account: dict[str, Figures] = field(default_factory=dict)
    by_variant: dict[str, Figures] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)


def campaign_stats(*, campaign: Campaign) -> CampaignStats:
    """Sent / replied / failed / skipped, in total, per sending account and per first-message variant.

    "Sent" counts people reached (their first message left); "replied" people who wrote back.
    """
    total = Figures()
    by_account: dict[str, Figures] = {}
    by_variant: dict[str, Figures] = {}
    sends = (
        Send.objects.filter(campaign=campaign, step=0)
        .values("account__first_name", "account__phone", "account_id", "variant", "state")
        .annotate(n=Count("id"), replied=Count("id", filter=Q(recipient__replied_at__isnull=False)))
    )
    for row in sends:
        name = row["account__first_name"] or row["account__phone"]
        label = f"{name} (#{row['account_id']})"
        for figures in (
            total,
            by_account.setdefault(label, Figures()),
            by_variant.setdefault(row["variant"] or "-", Figures()),
        ):
            _add(figures, row["state"], row["n"], row["replied"])
    reasons = dict(
        Recipient.objects.filter(
            campaign=campaign, state__in=(Recipient.State.SKIPPED, Recipient.State.FAILED)
        )
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    skipped_before_send = Recipient.objects.filter(
        campaign=campaign, state=Recipient.State.SKIPPED, sends__isnull=True
    ).count()
    total.skipped += skipped_before_send
    examples = dict(
        Send.objects.filter(campaign=campaign, step=0)
        .values("variant")
        .annotate(text=Min("text"))
        .values_list("variant", "text")
    )
    for key, figures in by_variant.items():
        figures.example = examples.get("" if key == "-" else key, "")
    recipients = Recipient.objects.filter(campaign=campaign).count()
    return CampaignStats(
        total=total,
        recipients=recipients,
        by_account=dict(sorted(by_account.items())),
        by_variant=dict(sorted(by_variant.items())),
        skip_reasons=reasons,
    )


def _add(figures: Figures, state: str, n: int, replied: int) -> None:
    if state == Send.State.SENT:
        figures.sent += n
        figures.replied += replied
    elif state == Send.State.FAILED:
        figures.failed += n
    elif state == Send.State.SKIPPED:
        figures.skipped += n
    else:
        figures.planned += n


def campaign_list(*, archived: bool | None = None) -> QuerySet[Campaign]:
    """Campaigns with their recipients, people reached (first message sent) and people who replied;
    ``archived`` picks the archived ones (True), the others (False) or all (None)."""
    sent = Recipient.objects.filter(campaign=OuterRef("pk"), first_sent_at__isnull=False)
    replied = sent.filter(replied_at__isnull=False)
    campaigns = Campaign.objects.select_related("audience").annotate(
        recipient_count=Count("recipients", distinct=True),
        sent_count=_count(sent),
        replied_count=_count(replied),
    )
    if archived is not None:
        campaigns = (campaigns.filter if archived else campaigns.exclude)(state=Campaign.State.ARCHIVED)
    return campaigns.order_by("-created_at", "-id")


def _count(rows: QuerySet) -> Coalesce:
    return Coalesce(Subquery(rows.values("campaign").annotate(n=Count("id")).values("n")[:1]), 0)


@dataclass
class StepFigures:
    """One message step (0 is the first message, then each follow-up) and what became of it."""

    step: int
    after: timedelta | None  # a follow-up's wait after the previous step
    planned: int = 0  # planned, queued or being sent
    sent: int = 0
    read: int = 0
    replied: int = 0  # replies credited to this step (the last message before the reply)
    not_sent: int = 0  # failed or skipped

    @property
    def label(self) -> str:
        return "First message" if self.step == 0 else f"Follow-up {self.step}"

    @property
    def reply_rate(self) -> float:
        return self.replied / self.sent if self.sent else 0.0


def campaign_steps(*, campaign: Campaign) -> list[StepFigures]:
    """Each step's planned / sent / read / replied counts (``Send.read_at``, ``Send.replied_at``)."""
    return campaigns_steps(campaign_ids=[campaign.pk])[campaign.pk]


def campaigns_steps(*, campaign_ids: list[int]) -> dict[int, list[StepFigures]]:
    """``campaign_steps`` for many campaigns (a page of the list) in two queries."""
    found: dict[int, dict[int, StepFigures]] = {
        pk: {0: StepFigures(step=0, after=None)} for pk in campaign_ids
    }
    for follow_up in FollowUp.objects.filter(campaign_id__in=campaign_ids):
        found[follow_up.campaign_id][follow_up.position] = StepFigures(
            step=follow_up.position, after=follow_up.after
        )
    open_states = (Send.State.PLANNED, Send.State.QUEUED, Send.State.SENDING)
    rows = (
        Send.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id", "step")
        .annotate(
            planned=Count("id", filter=Q(state__in=open_states)),
            sent=Count("id", filter=Q(state=Send.State.SENT)),
            read=Count("id", filter=Q(state=Send.State.SENT, read_at__isnull=False)),
            replied=Count("id", filter=Q(replied_at__isnull=False)),
            not_sent=Count("id", filter=Q(state__in=(Send.State.FAILED, Send.State.SKIPPED))),
        )
    )
    for row in rows:
        steps = found[row["campaign_id"]]
        figures = steps.setdefault(row["step"], StepFigures(step=row["step"], after=None))
        for name in ("planned", "sent", "read", "replied", "not_sent"):
            setattr(figures, name, row[name])
    return {pk: [steps[step] for step in sorted(steps)] for pk, steps in found.items()}


def campaign_sent_steps(*, campaign: Campaign) -> dict[int, int]:
    """Steps that have gone to anyone (sent, or leaving now), with how many people: they cannot change."""
    return dict(
        Send.objects.filter(campaign=campaign, state__in=(Send.State.SENT, Send.State.SENDING))
        .values("step")
        .annotate(n=Count("id"))
        .values_list("step", "n")
    )


def campaigns_of(*, accounts: QuerySet[Account]) -> QuerySet[Campaign]:
    """Campaigns whose every sender is one of ``accounts`` (what an API key bound to them may run)."""
    senders = Campaign.senders.through.objects.filter(campaign_id=OuterRef("pk"))
    return (
        campaign_list()
        .filter(Exists(senders.filter(account__in=accounts)))
        .exclude(Exists(senders.exclude(account__in=accounts)))
    )


def scrape_job_list() -> QuerySet[ScrapeJob]:
    return ScrapeJob.objects.select_related("account", "audience")


def warmup_stage(account: Account) -> str | None:
    """One line for the account page: "day 3 of 14", "done (14 days)", "paused", or None without a plan."""
    plan = WarmupPlan.objects.filter(account=account).first()
    if plan is None:
        return None
    day = plan_day(plan, now=timezone.now())
    if day > plan.days:
        return f"done ({plan.days} days)"
    return f"day {day} of {plan.days}{' (paused)' if plan.paused else ''}"
