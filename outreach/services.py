"""Writes about audiences and campaigns: create, start, pause, resume; and what happens to a send on the
session host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Account
from inbox.models import ContactHash, Message
from inbox.services import sent_message_record
from outreach import commands, signals, spintax
from outreach.models import Audience, Campaign, FollowUp, Recipient, Send
from outreach.outcomes import reads_record, replies_credit
from outreach.selectors import audience_contacts


class CampaignError(ValueError):
    pass


class AudienceError(ValueError):
    pass


def audience_create(
    *,
    name: str,
    require_username: bool = False,
    exclude_contacted: bool = False,
    exclude_opted_out: bool = True,
) -> Audience:
    """An empty audience with its filters; names are unique, so a taken one is refused with a reason."""
    name = name.strip()
    if not name:
        raise AudienceError("Give the audience a name")
    try:
        with transaction.atomic():
            return Audience.objects.create(
                name=name,
                require_username=require_username,
                exclude_contacted=exclude_contacted,
                exclude_opted_out=exclude_opted_out,
            )
    except IntegrityError:
        raise AudienceError(f"An audience named {name!r} already exists") from None


def campaign_create(
    *,
    name: str,
    template: str,
    audience: Audience,
    senders: list[Account],
    follow_ups: list[tuple[timedelta, str]] | None = None,
    **settings: Any,
) -> Campaign:
    """A draft campaign; the template and every follow-up must be valid spintax."""
    for text in [template, *(t for _, t in follow_ups or [])]:
        error = spintax.validate(text)
        if error is not None:
            raise CampaignError(f"Template error: {error}")
    try:
        ZoneInfo(settings.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f"Unknown time zone {settings.get('timezone')!r}") from None
    if settings.get("gap_max", 300) < settings.get("gap_min", 60):
        raise CampaignError("The longest gap must not be shorter than the shortest")
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, template=template, audience=audience, **settings)
        campaign.senders.set(senders)
        for position, (after, text) in enumerate(follow_ups or [], start=1):
            FollowUp.objects.create(campaign=campaign, position=position, after=after, template=text)
    return campaign


def campaign_start(*, campaign: Campaign, by: Any = None) -> int:
    """Snapshot the audience (its filters applied) as recipients and start sending. Returns how many.

    Opted-out people and people another campaign already reached (unless recontact is allowed) stay on
    the list as skipped, with the reason, so the numbers add up.
    """
    if campaign.state != Campaign.State.DRAFT:
        raise CampaignError("Only a draft campaign can be started")
    if not campaign.senders.exists():
        raise CampaignError("Choose at least one sending account")
    contacts = audience_contacts(audience=campaign.audience).values("id")
    sql, params = contacts.query.sql_with_params()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO outreach_recipient (campaign_id, contact_id, state, step, reason)
                SELECT %s, c.id, 'waiting', -1, '' FROM ({sql}) c
                ON CONFLICT DO NOTHING
                """,  # noqa: S608 - the inner query is Django's, with its parameters bound
                [campaign.pk, *params],
            )
            added = cursor.rowcount
        recipients = Recipient.objects.filter(campaign=campaign, state=Recipient.State.WAITING)
        recipients.filter(contact__opted_out=True).update(state=Recipient.State.SKIPPED, reason="Opted out")
        if not campaign.allow_recontact:
            reached = Recipient.objects.filter(
                contact_id=OuterRef("contact_id"), first_sent_at__isnull=False
            ).exclude(campaign=campaign)
            recipients.filter(Exists(reached)).update(
                state=Recipient.State.SKIPPED, reason="Already contacted by another campaign"
            )
        Campaign.objects.filter(pk=campaign.pk).update(
            state=Campaign.State.RUNNING, started_at=timezone.now()
        )
        transaction.on_commit(lambda: _tick_soon(campaign.pk))
    campaign.refresh_from_db()
    return added


def campaign_pause(*, campaign: Campaign, by: Any = None) -> None:
    """Stop queueing. Sends already in an account's queue are dropped when they come up (see claim)."""
    with transaction.atomic():
        paused = Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.RUNNING).update(
            state=Campaign.State.PAUSED
        )
        Send.objects.filter(campaign=campaign, state=Send.State.QUEUED).update(state=Send.State.PLANNED)
        if paused:
            signals.campaign_paused.send(sender=Campaign, campaign_id=campaign.pk)


def campaign_resume(*, campaign: Campaign, by: Any = None) -> None:
    updated = Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.PAUSED).update(
        state=Campaign.State.RUNNING
    )
    if updated:
        transaction.on_commit(lambda: _tick_soon(campaign.pk))


def _tick_soon(campaign_id: int) -> None:
    from outreach.tasks import campaign_tick  # at call time: outreach.tasks imports this module

    campaign_tick.delay(campaign_id=campaign_id)


def send_queue(queued: list[tuple[int, int]]) -> None:
    """Hand sends to their accounts' command queues (each consumed only by the account's session host)."""
    for account_id, send_id in queued:
        commands.send.queue(account_id, send_id=send_id)


# -- on the session host -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    send_id: int
    step: int
    text: str
    random_id: int
    contact_id: int
    user_id: int
    access_hash: int | None
    username: str
    media_path: str


def send_claim(*, send_id: int, account_id: int) -> Outgoing | None:
    """Take a queued send for this account. A redelivered command finds it "sending" and takes it again
    with the same random_id (Telegram deduplicates); anything else (moved, paused, done) is not ours."""
    with transaction.atomic():
        send = (
            Send.objects.select_for_update()
            .select_related("campaign", "recipient__contact")
            .filter(pk=send_id, account_id=account_id, state__in=(Send.State.QUEUED, Send.State.SENDING))
            .first()
        )
        if send is None or send.campaign.state != Campaign.State.RUNNING:
            return None
        account = Account.objects.get(pk=account_id)
        if account.outreach_paused_until and account.outreach_paused_until > timezone.now():
            _release(send)
            return None
        contact = send.recipient.contact
        if contact.opted_out:
            _settle(send, state=Send.State.SKIPPED, reason="Opted out")
            return None
        send.state = Send.State.SENDING
        send.save(update_fields=["state"])
    known = ContactHash.objects.filter(contact=contact, account_id=account_id).first()
    return Outgoing(
        send_id=send.pk,
        step=send.step,
        text=send.text,
        random_id=send.random_id,
        contact_id=contact.pk,
        user_id=contact.telegram_id,
        access_hash=known.access_hash if known else None,
        username=contact.username,
        media_path=send.campaign.media.path if send.campaign.media and send.step == 0 else "",
    )


def send_done(*, send_id: int, message_id: int) -> None:
    """The message left: record it and move the recipient on (done after the last step)."""
    now = timezone.now()
    with transaction.atomic():
        send = Send.objects.select_for_update().select_related("campaign").get(pk=send_id)
        if send.state == Send.State.SENT:
            return
        send.state, send.message_id, send.sent_at = Send.State.SENT, message_id, now
        send.save(update_fields=["state", "message_id", "sent_at"])
        last = max([0, *send.campaign.follow_ups.values_list("position", flat=True)])
        recipient = Recipient.objects.select_for_update().get(pk=send.recipient_id)
        recipient.step = max(recipient.step, send.step)
        recipient.last_sent_at = now
        recipient.first_sent_at = recipient.first_sent_at or now
        if recipient.first_message_id is None:
            recipient.first_message_id = message_id
        recipient.account_id = send.account_id
        if recipient.state != Recipient.State.REPLIED:
            recipient.state = Recipient.State.DONE if recipient.step >= last else Recipient.State.CONTACTED
        recipient.save()
        # A reply or a read receipt ingested before this message id was recorded counts now.
        replies_credit(recipient_ids=[recipient.pk])
        reads_record(recipient_ids=[recipient.pk])
    contact = Recipient.objects.select_related("contact").get(pk=send.recipient_id).contact
    sent_message_record(
        account_id=send.account_id,
        contact=contact,
        telegram_id=send.message_id or 0,
        date=now,
        text=send.text,
        media_kind=Message.MediaKind.PHOTO if send.step == 0 and send.campaign.media else "",
        campaign_id=send.campaign_id,
        campaign_name=send.campaign.name,
    )


def send_failed(*, send_id: int, account_id: int, reason: str, status: str = "") -> None:
    """A send that did not leave. An account-level failure (banned, spam-limited, logged out) gives the
    recipient back to the pool; a recipient-level one (privacy, deleted) skips them with the reason."""
    with transaction.atomic():
        send = Send.objects.select_for_update().filter(pk=send_id, account_id=account_id).first()
        if send is None or send.state == Send.State.SENT:
            return
        if status:
            _release(send)
        else:
            _settle(send, state=Send.State.SKIPPED, reason=reason)


def _release(send: Send) -> None:
    recipient_id, step = send.recipient_id, send.step
    send.delete()
    if step == 0:
        Recipient.objects.filter(pk=recipient_id, step=-1).update(account=None)


def _settle(send: Send, *, state: str, reason: str) -> None:
    send.state, send.reason = state, reason[:255]
    send.save(update_fields=["state", "reason"])
    Recipient.objects.filter(pk=send.recipient_id).exclude(state=Recipient.State.REPLIED).update(
        state=Recipient.State.SKIPPED if state == Send.State.SKIPPED else Recipient.State.FAILED,
        reason=reason[:255],
    )


def stale_sends_requeue(*, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Sends stuck "sending" (their command died with a bug) go back to planned; the random_id stays."""
    cutoff = timezone.now() - older_than
    return Send.objects.filter(state=Send.State.SENDING, queued_at__lt=cutoff).update(
        state=Send.State.PLANNED
    )
