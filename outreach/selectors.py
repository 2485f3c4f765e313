"""Reads for outreach: audience members with their filters, campaign figures, job progress."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from inbox.models import Contact
from outreach.limits import plan_day
from outreach.models import Audience, Campaign, Recipient, ScrapeJob, Send, WarmupPlan


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


def campaign_list() -> QuerySet[Campaign]:
    return (
        Campaign.objects.select_related("audience")
        .annotate(recipient_count=Count("recipients", distinct=True))
        .order_by("-created_at", "-id")
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
