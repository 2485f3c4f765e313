"""Contacts, conversations and messages from every account, in one place."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.models import Account


class Contact(models.Model):
    """One Telegram user, shared by every account that meets them."""

    telegram_id = models.BigIntegerField(unique=True)
    username = models.CharField(max_length=64, blank=True, db_index=True)
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    is_bot = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    opted_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"@{self.username}" if self.username else str(self.telegram_id))


class ContactHash(models.Model):
    """The access_hash one account holds for a contact: hashes are per viewing account on Telegram."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="hashes")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_hashes")
    access_hash = models.BigIntegerField()
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "account"], name="contacthash_unique")]

    def __str__(self) -> str:
        return f"{self.contact_id} as seen by account {self.account_id}"


class OptOut(models.Model):
    """A person asked not to be contacted: who recorded it, when and why. Removing it (admins only) keeps
    the row with who removed it and when, so the history stays; ``Contact.opted_out`` is the current
    answer every campaign reads."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opt_outs")
    conversation = models.ForeignKey(
        "Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One current opt-out per person: two operators clicking at once record it once.
            models.UniqueConstraint(
                fields=["contact"], condition=models.Q(removed_at__isnull=True), name="optout_one_current"
            )
        ]

    def __str__(self) -> str:
        return f"opt-out of contact {self.contact_id}"


class Label(models.Model):
    name = models.CharField(max_length=40, unique=True)
    color = models.CharField(max_length=7, default="#6b7785")

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """An account's chat with one peer: a private chat, a group or a channel."""

    class Kind(models.TextChoices):
        PRIVATE = "private", "Private"
        GROUP = "group", "Group"
        CHANNEL = "channel", "Channel"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        SNOOZED = "snoozed", "Snoozed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversations")
    peer_id = models.BigIntegerField()  # Telethon's marked id: users positive, chats and channels negative
    kind = models.CharField(max_length=10, choices=Kind.choices)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    title = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=64, blank=True)

    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True)
    # "in" while the newest message awaits an answer: reports count unanswered conversations from it.
    last_direction = models.CharField(max_length=3, blank=True, default="", db_default="")
    unread_count = models.PositiveIntegerField(default=0)
    read_inbox_max_id = models.BigIntegerField(default=0)
    read_outbox_max_id = models.BigIntegerField(default=0)

    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="conversations")
    # An operator took the conversation over: automation (agent hook, automatic replies) stays out of
    # it until resumed. The inbox still ingests everything.
    automation_paused = models.BooleanField(default=False, db_default=False)
    automation_paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    automation_paused_at = models.DateTimeField(null=True, blank=True)
    # The opt-out word of the person's latest message that had one, until the person is opted out or
    # an operator dismisses it ("Not an opt-out").
    opt_out_flag = models.CharField(max_length=40, blank=True, default="", db_default="")
    # The campaign whose first message started the conversation (outreach's id and name then: the inbox
    # sits below outreach and does not link to its tables). ``outreach_pending`` keeps such a conversation
    # out of the Open queue until the person answers.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    campaign_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    outreach_pending = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "peer_id"], name="conversation_unique_peer")
        ]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="conversation_recent_desc"),
            models.Index(fields=["account", "-last_message_at"], name="conversation_account_recent"),
            models.Index(
                fields=["campaign_id"],
                condition=models.Q(campaign_id__isnull=False),
                name="conversation_campaign",
            ),
        ]

    def __str__(self) -> str:
        return self.title or str(self.peer_id)


class Message(models.Model):
    """One message in a conversation, received or sent. Idempotent on (conversation, telegram_id)."""

    class Direction(models.TextChoices):
        IN = "in", "Received"
        OUT = "out", "Sent"

    class Delivery(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class MediaKind(models.TextChoices):
        PHOTO = "photo", "Photo"
        DOCUMENT = "document", "Document"
        STICKER = "sticker", "Sticker"
        VOICE = "voice", "Voice message"
        VIDEO_NOTE = "video_note", "Video message"
        GIF = "gif", "GIF"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"
        LOCATION = "location", "Location"
        CONTACT = "contact", "Contact"
        POLL = "poll", "Poll"

    # No index of its own: (conversation, telegram_id) and (conversation, -date, -id) both lead with it,
    # and every index is paid for on each ingested message.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    telegram_id = models.BigIntegerField(null=True, blank=True)  # null until an outbound message is sent
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sender_name = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    entities = models.JSONField(default=list, blank=True)
    media_kind = models.CharField(max_length=20, blank=True, choices=MediaKind.choices)
    media = models.JSONField(default=dict, blank=True)  # metadata; the file itself is fetched on demand
    reply_to_id = models.BigIntegerField(null=True, blank=True)
    date = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.SENT)
    failure_reason = models.CharField(max_length=255, blank=True)
    # Chosen and stored before sending; a retry reuses it and Telegram deduplicates (invariant 3).
    random_id = models.BigIntegerField(null=True, blank=True, unique=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Which automation wrote an outbound message ("agent", "pairing"); blank for a person or another
    # device. The inbox marks automated replies by it.
    automation = models.CharField(max_length=16, blank=True, default="", db_default="")
    # The opt-out word found in a received message on ingestion (inbox.optout), shown as a flag.
    opt_out_word = models.CharField(max_length=40, blank=True, default="", db_default="")
    # The campaign that sent an outbound message (outreach's id and name when sent).
    campaign_id = models.BigIntegerField(null=True, blank=True)
    campaign_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Not partial: ingestion upserts with ON CONFLICT (conversation, telegram_id), which only a
            # full unique index can serve. Pending replies have a NULL id, and NULLs never collide.
            models.UniqueConstraint(
                fields=["conversation", "telegram_id"], name="message_unique_telegram_id"
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "-date", "-id"], name="message_history"),
            GinIndex(SearchVector("text", config="simple"), name="message_text_search"),
            # Reports count a time range's messages from this index alone (index-only scans).
            models.Index(
                fields=["date"],
                include=["conversation", "direction", "sent_by"],
                condition=models.Q(deleted=False),
                name="message_date_reports",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.telegram_id}: {self.text[:40]}"


class Note(models.Model):
    """An internal note on a conversation; never sent to Telegram."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.text[:40]


class CannedReply(models.Model):
    """A saved answer an operator inserts by typing /shortcut in the reply box."""

    shortcut = models.SlugField(max_length=40, unique=True)
    text = models.TextField()

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class MediaFile(models.Model):
    """A message's media file, fetched from Telegram the first time an operator opens it, then kept.

    Stored in PostgreSQL (the only store every process shares) and bounded by INBOX_MEDIA_MAX_BYTES.
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="file")
    data = models.BinaryField()
    mime_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"media of message {self.message_id} ({self.size} bytes)"


class BusinessHours(models.Model):
    """When a team (``account`` empty) or one account is at work: weekdays and hours in a time zone.

    Response events store their business-hours value as computed when written: changing these hours
    never rewrites the past (not retroactive)."""

    account = models.OneToOneField(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="business_hours"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    weekdays = models.CharField(max_length=7, default="01234", help_text="0 = Monday … 6 = Sunday")
    start = models.TimeField(default=time(9, 0))
    end = models.TimeField(default=time(18, 0))

    class Meta:
        verbose_name_plural = "business hours"
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(account__isnull=True), name="business_hours_one_team"
            )
        ]

    def __str__(self) -> str:
        return f"business hours of {self.account or 'the team'}"

    def clean(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError({"timezone": "Unknown time zone"}) from error
        if not self.weekdays or any(d not in "0123456" for d in self.weekdays):
            raise ValidationError({"weekdays": "Digits 0 (Monday) to 6 (Sunday)"})
        if self.end <= self.start:
            raise ValidationError({"end": "The day ends after it starts"})


class ResponseEvent(models.Model):
    """A reporting fact, written in the same transaction as the change it describes, never backfilled.

    first_response: the conversation's first inbound message → its first reply (once per conversation
    and kind of replier, so a reopened conversation never measures it again); reply_time: the oldest
    unanswered inbound message → the reply; resolution: opened (or reopened) → closed; reopen: closed →
    open. ``automated`` replies (no operator: campaigns, the API, another device) are kept apart from
    human ones. ``operator`` and ``labels`` are snapshots of the moment."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        REPLY_TIME = "reply_time", "Reply time"
        RESOLUTION = "resolution", "Resolution"
        REOPEN = "reopen", "Reopen"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="response_events")
    # The reply it measures: an ingested copy of our own reply, dropped for the original, takes its events.
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    automated = models.BooleanField(default=False)
    labels = ArrayField(models.BigIntegerField(), default=list, blank=True)
    seconds = models.FloatField()
    business_seconds = models.FloatField()

    class Meta:
        indexes = [
            # Reports read a time range's values from this index alone (index-only scans).
            models.Index(
                fields=["at"],
                include=["account", "operator", "kind", "automated", "seconds", "business_seconds"],
                name="response_event_at",
            ),
            models.Index(fields=["conversation", "kind"], name="response_event_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.seconds:.0f}s in conversation {self.conversation_id}"


class Task(models.Model):
    """Something to do about a conversation by a time ("call back at 18:00"), for one operator.

    ``reminded_at`` is set exactly once, by whichever reminder run claims the task first
    (``inbox.todo.tasks_remind_due``); moving the due time later clears it, so the new time reminds too.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the reminder's scan: open tasks not yet reminded, by due time
            models.Index(
                fields=["due_at"],
                name="inbox_task_due_unreminded",
                condition=models.Q(done_at__isnull=True, reminded_at__isnull=True),
            ),
            models.Index(fields=["assignee", "due_at"], name="inbox_task_assignee_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_at <= timezone.now()


class Notification(models.Model):
    """One thing a user should know about: a message in a conversation assigned to them, a mention in
    a note, a task that is due, a conversation or a task someone (or a team's auto-assignment) gave
    them. Unread until they read it (or mark all read)."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "Message in my conversation"
        MENTION = "mention", "Mention in a note"
        TASK_DUE = "task_due", "Task due"
        ASSIGNED = "assigned", "Conversation assigned to me"
        TASK_ASSIGNED = "task_assigned", "Task assigned to me"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user"], name="inbox_notification_unread", condition=models.Q(read_at__isnull=True)
            ),
            models.Index(fields=["user", "-created_at"], name="inbox_notification_recent"),
        ]

    def __str__(self) -> str:
        return self.text


class NotificationPreference(models.Model):
    """Which notifications a user wants, whether the browser may show them, and the time zone their
    task due times are entered and shown in. No row: every kind, browser notifications on, TIME_ZONE."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_prefs",
    )
    messages = models.BooleanField(default=True)
    mentions = models.BooleanField(default=True)
    tasks_due = models.BooleanField(default=True)
    assigned = models.BooleanField(default=True)  # conversations and tasks given to me by someone else
    browser = models.BooleanField(default=True)
    timezone = models.CharField(max_length=64, default="", blank=True)

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"

    def wants(self, kind: str) -> bool:
        wanted: dict[str, bool] = {
            Notification.Kind.MESSAGE: self.messages,
            Notification.Kind.MENTION: self.mentions,
            Notification.Kind.TASK_DUE: self.tasks_due,
            Notification.Kind.ASSIGNED: self.assigned,
            Notification.Kind.TASK_ASSIGNED: self.assigned,
        }
        return wanted.get(kind, False)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone or settings.TIME_ZONE)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(settings.TIME_ZONE)


class SavedView(models.Model):
    """A named inbox filter (search and filters, as ``Filters.to_query`` writes them): private to its
    owner, or shared with everyone (admins share)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.TextField(blank=True)
    shared = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name")]

    def __str__(self) -> str:
        return self.name
