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
from crm.parsing import text_problem
from inbox.models import ContactHash, Message
from inbox.services import sent_message_record
from outreach import commands, signals, spintax
from outreach.models import Audience, Campaign, FollowUp, Recipient, Send
from outreach.outcomes import reads_record, replies_credit
from outreach.selectors import audience_contacts, campaign_sent_steps


class CampaignError(ValueError):
    pass


MAX_DAILY_CAP = 10_000  # messages per sender per day
MAX_GAP = 86_400  # seconds between two sends of one account: a day at most
PLANNING_LOCK = 0x5EED_0001  # pg_advisory_xact_lock key shared by every planner (and every edit)


def planning_lock() -> None:
    """Wait for (then hold, to the end of the transaction) the lock every campaign tick plans under."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PLANNING_LOCK])


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


# What an edit may change. The audience is taken at start, so it changes only on a draft; a message step
# that has gone to anyone keeps its text and wait (the people who got it and the reports refer to it).
SETTINGS = (
    "name",
    "daily_cap",
    "gap_min",
    "gap_max",
    "window_start",
    "window_end",
    "timezone",
    "stop_on_reply",
    "allow_recontact",
)


def campaign_update(
    *,
    campaign: Campaign,
    template: str,
    follow_ups: list[tuple[timedelta, str]],
    senders: list[Account],
    audience: Audience | None = None,
    by: Any = None,
    **settings: Any,
) -> Campaign:
    """Change a draft, running or paused campaign. Steps already sent keep their text and wait, the
    audience is fixed once started; what is planned and not yet queued is planned again by the next
    tick under the new settings (caps, window, senders, texts)."""
    with transaction.atomic():
        planning_lock()  # no tick plans from half an edit
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        merged = {name: settings.get(name, getattr(current, name)) for name in SETTINGS}
        _check_settings(template=template, follow_ups=follow_ups, senders=senders, settings=merged)
        if current.state in (Campaign.State.FINISHED, Campaign.State.ARCHIVED):
            raise CampaignError(f"A {current.get_state_display().lower()} campaign cannot be changed")
        if audience is not None and audience.pk != current.audience_id:
            if current.state != Campaign.State.DRAFT:
                raise CampaignError(
                    "The audience was taken when the campaign started and cannot change now "
                    "(start a new campaign for other people)"
                )
            current.audience = audience
        _check_sent_steps(current, template=template, follow_ups=follow_ups)
        for name in SETTINGS:
            if name in settings:
                setattr(current, name, settings[name])
        current.template = template
        current.save()
        _replace_follow_ups(current, follow_ups)
        removed = set(current.senders.values_list("id", flat=True)) - {a.pk for a in senders}
        current.senders.set(senders)
        if current.state != Campaign.State.DRAFT:
            _replan(current, removed=removed)
    return current


def _check_settings(
    *, template: str, follow_ups: list[tuple[timedelta, str]], senders: list[Account], settings: dict
) -> None:
    for text in [template, *(t for _, t in follow_ups)]:
        problem = text_problem(text) or (f"Template error: {e}" if (e := spintax.validate(text)) else None)
        if problem:
            raise CampaignError(problem)
    if not senders:
        raise CampaignError("Choose at least one sending account")
    try:
        ZoneInfo(settings["timezone"])
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CampaignError(f"Unknown time zone {settings['timezone']!r}") from None
    for name, most in (("daily_cap", MAX_DAILY_CAP), ("gap_min", MAX_GAP), ("gap_max", MAX_GAP)):
        if not isinstance(settings[name], int) or not 0 <= settings[name] <= most:
            raise CampaignError(
                f"{name.replace('_', ' ').capitalize()} must be a whole number from 0 to {most:,}"
            )
    if settings["gap_max"] < settings["gap_min"]:
        raise CampaignError("The longest gap must not be shorter than the shortest")
    problem = text_problem(str(settings["name"]), max_length=120)
    if problem or not str(settings["name"]).strip():
        raise CampaignError(f"Name: {problem or 'give the campaign a name'}")


def _check_sent_steps(campaign: Campaign, *, template: str, follow_ups: list[tuple[timedelta, str]]) -> None:
    """A step that has gone to anyone keeps its text (and a follow-up its wait); refuse, naming it."""
    sent = campaign_sent_steps(campaign=campaign)
    if sent.get(0) and template != campaign.template:
        raise CampaignError(
            f"The first message has gone to {sent[0]} people: its text can no longer change "
            "(make a new campaign for a new text)"
        )
    old = {f.position: f for f in campaign.follow_ups.all()}
    new = dict(enumerate(follow_ups, start=1))
    for position, step in old.items():
        if not sent.get(position):
            continue
        if position not in new:
            raise CampaignError(
                f"Follow-up {position} has gone to {sent[position]} people: it cannot be removed"
            )
        after, text = new[position]
        # A wait edited as days comes back through a float: a second either way is the same wait.
        if text != step.template or abs(after - step.after) >= timedelta(seconds=1):
            raise CampaignError(
                f"Follow-up {position} has gone to {sent[position]} people: "
                "its text and wait can no longer change"
            )


def _replace_follow_ups(campaign: Campaign, follow_ups: list[tuple[timedelta, str]]) -> None:
    wanted = dict(enumerate(follow_ups, start=1))
    FollowUp.objects.filter(campaign=campaign).exclude(position__in=list(wanted)).delete()
    kept = {f.position: f for f in FollowUp.objects.filter(campaign=campaign)}
    for position, (after, text) in wanted.items():
        same = kept.get(position)
        if same and same.template == text and abs(same.after - after) < timedelta(seconds=1):
            continue
        FollowUp.objects.update_or_create(
            campaign=campaign, position=position, defaults={"after": after, "template": text}
        )


def _replan(campaign: Campaign, *, removed: set[int]) -> None:
    """Planned sends go (the next tick plans them again under the new settings); people given to a removed
    sender go back to the pool, its queued sends too."""
    released = Send.objects.filter(campaign=campaign, state=Send.State.PLANNED) | Send.objects.filter(
        campaign=campaign, state=Send.State.QUEUED, account_id__in=removed
    )
    firsts = list(released.filter(step=0).values_list("recipient_id", flat=True))
    released.delete()
    Recipient.objects.filter(id__in=firsts, step=-1).update(account=None)
    Recipient.objects.filter(campaign=campaign, account_id__in=removed).update(account=None)
    if campaign.state == Campaign.State.RUNNING:
        transaction.on_commit(lambda: _tick_soon(campaign.pk))


def campaign_archive(*, campaign: Campaign, by: Any = None) -> None:
    """Put a campaign away with its history (who got what, the replies); what was not sent yet is dropped
    and nothing more goes out (a queued send finds the campaign no longer running)."""
    with transaction.atomic():
        planning_lock()
        archived = (
            Campaign.objects.filter(pk=campaign.pk)
            .exclude(state=Campaign.State.ARCHIVED)
            .update(state=Campaign.State.ARCHIVED, archived_at=timezone.now())
        )
        if archived:
            Send.objects.filter(campaign=campaign, state__in=(Send.State.PLANNED, Send.State.QUEUED)).delete()
            Recipient.objects.filter(campaign=campaign, state=Recipient.State.WAITING).update(account=None)
    campaign.refresh_from_db()


def campaign_delete(*, campaign: Campaign, confirm: bool = False, by: Any = None) -> None:
    """Delete a campaign. One that has sent messages keeps them as history unless ``confirm``: deleting
    it forgets who it reached, so another campaign could write to them again."""
    with transaction.atomic():
        planning_lock()
        sent = Send.objects.filter(campaign=campaign, state__in=(Send.State.SENT, Send.State.SENDING)).count()
        if sent and not confirm:
            raise CampaignError(
                f"This campaign has sent {sent} messages. Archive it to keep its history, or confirm "
                "deleting it with its history (the people it reached could then be written to again)"
            )
        Campaign.objects.filter(pk=campaign.pk).delete()


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
        # A sender removed from the campaign while this message was on its way sends no follow-ups: the
        # person goes back to the pool for them, as a gone sender's people do.
        still_sender = send.campaign.senders.filter(pk=send.account_id).exists()
        recipient.account_id = send.account_id if still_sender else None
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
