"""Outreach: audiences, scraping jobs, campaigns with their recipients and sends, warm-up plans."""

from __future__ import annotations

from datetime import time

from django.db import models
from django.utils import timezone as django_timezone

from accounts.models import Account
from inbox.models import Contact


class Audience(models.Model):
    """A named list of contacts. The filters apply whenever the list is used (a campaign start)."""

    name = models.CharField(max_length=120, unique=True)
    contacts: models.ManyToManyField[Contact, AudienceMember] = models.ManyToManyField(
        Contact, through="AudienceMember", related_name="audiences"
    )
    require_username = models.BooleanField(default=False)
    exclude_contacted = models.BooleanField(default=False, help_text="Leave out anyone a campaign reached")
    exclude_opted_out = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=40, blank=True)  # scrape:<id>, csv, conversations
    added_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["audience", "contact"], name="audience_member_unique")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.audience_id}"


class ScrapeJob(models.Model):
    """Collecting a group's members through one account, one page (one command) at a time.

    The cursor (phase, query, offset) lives here, so a restarted worker resumes where it stopped.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"
        # The list ended with fewer members than the group reports (some were not shown).
        INCOMPLETE = "incomplete", "Incomplete"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scrape_jobs")
    target = models.CharField(max_length=255)  # @username, t.me/name or an invite link
    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="scrape_jobs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING, db_index=True)
    message = models.CharField(max_length=255, blank=True)

    # The group as the scraping account sees it (its own access_hash).
    channel_id = models.BigIntegerField(null=True, blank=True)
    channel_hash = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=255, blank=True)
    total = models.PositiveIntegerField(default=0)  # members Telegram says the group has

    # Cursor: "recent" pages first, then "search" queries (queries[query_index]) when the list is capped.
    phase = models.CharField(max_length=10, default="recent")
    offset = models.PositiveIntegerField(default=0)
    queries = models.JSONField(default=list, blank=True)
    query_index = models.PositiveIntegerField(default=0)
    # Bumped on every queued page; a redelivered or duplicate command with an older number is dropped.
    step = models.PositiveIntegerField(default=0)

    pages = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(default=0)  # distinct members stored
    flood_waits = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=django_timezone.now)
    updated_at = models.DateTimeField(default=django_timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"scrape {self.target} via account {self.account_id}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.RUNNING, self.State.PAUSED)


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"
        # Put away with its history kept (what was sent, to whom, the replies); nothing more is sent.
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120)
    template = models.TextField(help_text="Spintax: {Hi|Hello} {{first_name|there}}")
    media = models.FileField(upload_to="campaign-media/", blank=True)
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="campaigns")
    senders = models.ManyToManyField(Account, related_name="campaigns")
    daily_cap = models.PositiveIntegerField(default=20, help_text="Messages per sender per day")
    gap_min = models.PositiveIntegerField(default=60, help_text="Seconds between two sends of one account")
    gap_max = models.PositiveIntegerField(default=300)
    window_start = models.TimeField(default=time(9, 0))
    window_end = models.TimeField(default=time(18, 0))
    timezone = models.CharField(max_length=64, default="UTC")
    stop_on_reply = models.BooleanField(default=True)
    allow_recontact = models.BooleanField(
        default=False, help_text="Also write to people other campaigns reached"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT, db_index=True)
    created_at = models.DateTimeField(default=django_timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class FollowUp(models.Model):
    """A further message, sent ``after`` the previous one when the recipient has not replied."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="follow_ups")
    position = models.PositiveSmallIntegerField()  # 1, 2, … (step 0 is the campaign's own template)
    after = models.DurationField()
    template = models.TextField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="followup_unique_position")
        ]

    def __str__(self) -> str:
        return f"follow-up {self.position} of campaign {self.campaign_id}"


class Recipient(models.Model):
    """One contact in one campaign. ``account`` is the sender they were given (follow-ups stay with it)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        CONTACTED = "contacted", "Contacted"
        REPLIED = "replied", "Replied"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="campaign_recipients")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    step = models.SmallIntegerField(default=-1)  # the last step sent; -1 before the first message
    first_sent_at = models.DateTimeField(null=True, blank=True)  # set once: "contacted by a campaign"
    # Telegram's id of our first message: a reply is an inbound message with a greater id in that chat
    # (ids grow per chat owner; Telegram's whole-second dates cannot order a reply within our second).
    first_message_id = models.BigIntegerField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="recipient_unique")]
        indexes = [models.Index(fields=["campaign", "state", "id"], name="recipient_campaign_state")]

    def __str__(self) -> str:
        return f"{self.contact_id} in campaign {self.campaign_id} ({self.state})"


class Send(models.Model):
    """One message to one recipient from one account: planned, queued, sent or not, and why."""

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="sends")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaign_sends")
    step = models.SmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    # The local day (campaign time zone) whose cap this send counts against.
    day = models.DateField()
    due_at = models.DateTimeField()
    # Chosen at planning, before anything is sent: a redelivered command reuses it (invariant 3).
    random_id = models.BigIntegerField(unique=True)
    resolves = models.BooleanField(default=False)  # the sender must resolve the username (its budget)
    text = models.TextField(blank=True)
    variant = models.CharField(max_length=64, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the recipient's read receipt reached this message; the date of their reply, on the one send
    # it is credited to (both recorded as they are ingested: ``outreach.outcomes``).
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "step"], name="send_unique_step")]
        indexes = [
            models.Index(fields=["campaign", "state", "due_at"], name="send_campaign_due"),
            models.Index(fields=["account", "day"], name="send_account_day"),
        ]

    def __str__(self) -> str:
        return f"send {self.pk} step {self.step} ({self.state})"


class WarmupPlan(models.Model):
    """Raises an account's daily budgets over ``days`` and keeps it busy like a person would.

    Its beat schedule (``task``) fires ``outreach.warmup_tick`` every few minutes; the tick acts only in
    the account's active hours and spreads the day's actions at random. ``day_seconds`` is one "day" of
    the plan: 86400 in production, a few seconds on a test's compressed clock.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="warmup_plan")
    days = models.PositiveSmallIntegerField(default=14)
    start_limits = models.JSONField(default=dict)  # budgets on day 1, e.g. {"new_dm": 2, "join": 1}
    target_limits = models.JSONField(default=dict)  # budgets from the last day on
    actions_per_day = models.PositiveSmallIntegerField(default=12)
    channels = models.JSONField(default=list, blank=True)  # public channels it may read and join
    active_from = models.TimeField(default=time(8, 0))
    active_to = models.TimeField(default=time(22, 0))
    timezone = models.CharField(max_length=64, default="UTC")
    day_seconds = models.PositiveIntegerField(default=86_400)
    started_at = models.DateTimeField(default=django_timezone.now)
    paused = models.BooleanField(default=False)
    task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"warm-up of account {self.account_id}"


class WarmupAction(models.Model):
    """What a warm-up plan did (or tried), for the admin's view and the budget checks."""

    class Kind(models.TextChoices):
        READ = "read", "Read a channel"
        JOIN = "join", "Join a channel"
        REACT = "react", "React in a joined channel"
        CHAT = "chat", "Write to another warming account"

    plan = models.ForeignKey(WarmupPlan, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    target = models.CharField(max_length=255, blank=True)  # a channel, or the pool account written to
    plan_day = models.PositiveSmallIntegerField()
    ok = models.BooleanField(default=False)
    detail = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["plan", "plan_day", "kind"], name="warmup_action_day")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} (day {self.plan_day})"
