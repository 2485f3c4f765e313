"""API keys (stored hashed, bound to accounts and scopes) and the audit log of what they wrote."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account

SCOPES = {
    "fleet:read": "See accounts, their health, inbox conversations, campaigns and scrape jobs",
    "messages:read": "Read an account's dialogs, messages, entities and group members",
    "messages:send": "Send, edit, forward, delete and mark messages read as an account",
    "chats:manage": "Join and leave chats, create and delete groups and channels",
    "inbox:write": "Reply to, assign, label, note, close and reopen inbox conversations",
    "outreach:manage": "Create audiences and campaigns, start and pause them, run scrape jobs",
}


class ApiKey(models.Model):
    """A key for the REST API and the MCP endpoint: ``sb_<prefix>_<secret>``, shown once. Only the
    prefix (to find the row) and the secret's SHA-256 (compared in constant time) are kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    accounts = models.ManyToManyField(Account, blank=True, related_name="api_keys")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (sb_{self.prefix}_…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """One write made through the API or MCP: which key (its name kept even after the key is gone),
    which tool, for which account, and how it ended."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="audit")
    key_name = models.CharField(max_length=100)
    door = models.CharField(max_length=4)  # rest or mcp
    tool = models.CharField(max_length=64)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.PositiveSmallIntegerField()
    operation = models.CharField(max_length=36, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.key_name} {self.tool} {self.status}"
