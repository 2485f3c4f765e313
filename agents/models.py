"""The agent hook: per account, an HTTPS endpoint asked what to answer to each admitted message."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Account
from crm import vault
from inbox.models import Conversation, Message

MAX_TIMEOUT = 30
MAX_CONTEXT = 100
MAX_PER_MINUTE = 60
MAX_PER_HOUR = 600


class AgentHook(models.Model):
    """One account's agent hook. The signing secret (Standard Webhooks ``whsec_…``) is sealed with
    crm.vault; the row id and ``secret_version`` are its seal's context, so a rotation bumps the version
    and an old blob copied back never opens."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="agent_hook")
    url = models.CharField(max_length=2000)
    enabled = models.BooleanField(default=False)
    secret_sealed = models.BinaryField(editable=False)
    secret_version = models.PositiveIntegerField(default=1)
    timeout = models.PositiveSmallIntegerField(default=10)  # seconds, 1..MAX_TIMEOUT
    context_size = models.PositiveSmallIntegerField(default=20)  # recent messages sent, 0..MAX_CONTEXT
    # Automated replies per peer (the sender: a private chat's user, or one member of a group).
    per_peer_per_minute = models.PositiveSmallIntegerField(default=3)
    per_peer_per_hour = models.PositiveSmallIntegerField(default=30)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(timeout__gte=1, timeout__lte=MAX_TIMEOUT), name="agenthook_timeout_bounded"
            ),
            models.CheckConstraint(
                condition=models.Q(context_size__lte=MAX_CONTEXT), name="agenthook_context_bounded"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    per_peer_per_minute__gte=1,
                    per_peer_per_minute__lte=MAX_PER_MINUTE,
                    per_peer_per_hour__gte=1,
                    per_peer_per_hour__lte=MAX_PER_HOUR,
                ),
                name="agenthook_limits_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"agent hook of account {self.account_id}"

    def secret_context(self) -> str:
        return f"agent_hook_secret:{self.pk}:{self.secret_version}"

    def seal_secret(self, secret: str) -> None:
        """Seal ``secret`` into the unsaved row (the caller saves it with ``secret_version``)."""
        if self.pk is None:
            raise ValueError("save the AgentHook before sealing its secret: the row id is part of the seal")
        self.secret_sealed = vault.seal(secret.encode(), context=self.secret_context())

    def secret(self) -> str:
        return vault.unseal(bytes(self.secret_sealed), context=self.secret_context()).decode()


vault.register(
    model="agents.AgentHook",
    field="secret_sealed",
    context=AgentHook.secret_context,
    version_field="secret_version",
)


class HookCall(models.Model):
    """One admitted message handled by the agent hook, or one test event: the delivery log.

    ``webhook_id`` is unique: the row is written (CALLING) before the request, so a task that runs again
    for the same message (a redelivery, a duplicate signal) never calls the hook a second time."""

    class Outcome(models.TextChoices):
        CALLING = "calling", "Calling"
        REPLIED = "replied", "Replied"
        NO_REPLY = "no_reply", "No reply"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        BAD_ANSWER = "bad_answer", "Bad answer"
        NOT_SENT = "not_sent", "Answer not sent"
        LIMITED = "limited", "Rate-limited (not called)"
        INTERRUPTED = "interrupted", "Interrupted"

    hook = models.ForeignKey(AgentHook, on_delete=models.CASCADE, related_name="calls")
    webhook_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=32, default="message.received")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    peer_id = models.BigIntegerField(null=True, blank=True)  # the sender's Telegram user id
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.CALLING)
    reason = models.CharField(max_length=255, blank=True)  # plain words: why it failed, or what it did
    reply = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["hook", "-started_at"], name="hookcall_log"),
            models.Index(fields=["hook", "peer_id", "started_at"], name="hookcall_peer_window"),
            models.Index(fields=["conversation", "started_at"], name="hookcall_conversation_window"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.outcome}"

    @property
    def replied(self) -> bool:
        return self.outcome == self.Outcome.REPLIED
