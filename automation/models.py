"""Whom each account answers automatically: its DM and group policies, its allowlist, pairing requests."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Account
from inbox.models import Message

DEFAULT_PAIRING_TEXT = "Your request has been passed on to the admin."
QUEUE_FULL_TEXT = "Too many pending pairing requests. Please try again later."
APPROVED_TEXT = "Your request was approved. You can write here now."
DENIED_TEXT = "Your request was declined."


class AutomationSettings(models.Model):
    """An account's automation rules; one row per account, created the first time it is needed."""

    class DmPolicy(models.TextChoices):
        PAIRING = "pairing", "Pairing: an admin approves unknown senders"
        ALLOWLIST = "allowlist", "Allowlist only"
        OPEN = "open", "Open: anyone"

    class GroupPolicy(models.TextChoices):
        MENTION = "mention", "When @mentioned"
        REPLY = "reply", "When someone replies to its message"
        BOTH = "both", "Mention or reply"
        OFF = "off", "Never"

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="automation_settings"
    )
    dm_policy = models.CharField(max_length=10, choices=DmPolicy.choices, default=DmPolicy.PAIRING)
    group_policy = models.CharField(max_length=10, choices=GroupPolicy.choices, default=GroupPolicy.MENTION)
    pairing_text = models.TextField(default=DEFAULT_PAIRING_TEXT)
    # Where pairing requests are announced: "@username" (a user or a public group) or a marked id (a user
    # the account has met, or a group: negative). Blank: only the console shows them.
    admin_chat = models.CharField(max_length=40, blank=True)
    pending_cap = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    expiry_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)]
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "automation settings"

    def __str__(self) -> str:
        return f"automation of account {self.account_id}"

    @property
    def expiry(self) -> timedelta:
        return timedelta(minutes=self.expiry_minutes)


class AllowedSender(models.Model):
    """Someone an account answers under the allowlist and pairing policies: listed by an admin (a user
    id or a username) or approved through pairing (always by user id)."""

    class Source(models.TextChoices):
        LISTED = "listed", "Listed by an admin"
        PAIRED = "paired", "Approved pairing request"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="allowed_senders")
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=32, blank=True)  # without "@"
    # Who they were when added (their @username or name), for people reading the list; never matched.
    label = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LISTED)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user_id__isnull=False) | ~models.Q(username=""),
                name="allowedsender_names_someone",
            ),
            models.UniqueConstraint(
                fields=["account", "user_id"],
                condition=models.Q(user_id__isnull=False),
                name="allowedsender_unique_user",
            ),
            models.UniqueConstraint(
                "account",
                Lower("username"),
                condition=~models.Q(username=""),
                name="allowedsender_unique_username",
            ),
        ]

    def __str__(self) -> str:
        if self.username:
            return f"@{self.username}"
        return f"{self.user_id} ({self.label})" if self.label else str(self.user_id)


class PairingRequest(models.Model):
    """An unknown sender asking, through a direct message, to be answered by an account's automation."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="pairing_requests")
    sender_id = models.BigIntegerField()  # the sender's Telegram user id
    username = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True)
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    first_text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who decided from the admin chat (their name there), when nobody in the console did.
    decided_in_chat_by = models.CharField(max_length=255, blank=True)
    # The announcement in the admin chat: the command that posts it, then Telegram's id for it there.
    announce_operation = models.UUIDField(null=True, blank=True)
    announced_message_id = models.BigIntegerField(null=True, blank=True)
    # Where the announcement stands, in words (not a column: selectors.pairing_pending fills it in).
    announcement: str = ""

    class Meta:
        constraints = [
            # Repeated messages from a pending sender never make a second request, however they race.
            models.UniqueConstraint(
                fields=["account", "sender_id"],
                condition=models.Q(status="pending"),
                name="pairingrequest_one_pending_per_sender",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status", "-created_at"], name="pairingrequest_account_list"),
            models.Index(
                fields=["expires_at"], condition=models.Q(status="pending"), name="pairingrequest_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"pairing request of {self.who} to account {self.account_id} ({self.status})"

    @property
    def who(self) -> str:
        if self.username:
            return f"@{self.username}"
        return self.name or str(self.sender_id)


class Judgement(models.Model):
    """What the policies decided for one inbound message, written once: the row is the claim that makes
    ``message_admitted`` (and any pairing reply) happen once per message, however often the task runs,
    and it tells an admin why automation answered or stayed quiet."""

    message = models.OneToOneField(Message, primary_key=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    admitted = models.BooleanField()
    reason = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["at"], name="judgement_at")]

    def __str__(self) -> str:
        return f"message {self.message_id}: {'admitted' if self.admitted else 'not admitted'} ({self.reason})"
