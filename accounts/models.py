"""Telegram accounts, their sealed sessions, leases and event history."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm import vault


class ApiApp(models.Model):
    """A Telegram API application (my.telegram.org): api_id in clear, api_hash sealed."""

    name = models.CharField(max_length=100)
    api_id = models.PositiveIntegerField(unique=True)
    api_hash_sealed = models.BinaryField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.api_id})"

    def seal_api_hash(self, api_hash: str) -> None:
        if self.pk is None:
            raise ValueError("save the ApiApp before sealing its hash: the row id is part of the seal")
        self.api_hash_sealed = vault.seal(api_hash.encode(), context=self.api_hash_context())

    def api_hash(self) -> str:
        return vault.unseal(bytes(self.api_hash_sealed), context=self.api_hash_context()).decode()

    def api_hash_context(self) -> str:
        return f"api_hash:{self.pk}"


class Account(models.Model):
    """One Telegram user account driven by Switchboard."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CODE_SENT = "code_sent", "Code sent"
        PASSWORD_NEEDED = "password_needed", "2FA password needed"
        ACTIVE = "active", "Active"
        COOLDOWN = "cooldown", "Cooling down"
        SPAM_LIMITED = "spam_limited", "Spam-limited"
        REAUTH_REQUIRED = "reauth_required", "Re-login required"
        BANNED = "banned", "Banned"
        DISABLED = "disabled", "Disabled"

    phone = models.CharField(max_length=32, unique=True)
    api_app = models.ForeignKey(ApiApp, on_delete=models.PROTECT, related_name="accounts")
    telegram_id = models.BigIntegerField(null=True, blank=True, unique=True)
    username = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    status_reason = models.CharField(max_length=255, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    cooldown_until = models.DateTimeField(null=True, blank=True)
    outreach_paused_until = models.DateTimeField(null=True, blank=True)

    # The proxy URL (socks5://user:pass@host:1080) sealed like an API hash, as it carries credentials;
    # NULL for a direct connection. Pages show proxy_shown (scheme://host:port) and never open the seal.
    proxy_sealed = models.BinaryField(null=True, blank=True, editable=False)
    proxy_shown = models.CharField(max_length=255, blank=True)
    # The device this account presents to Telegram. Chosen once and kept: a session whose device
    # changes between connections looks like a stolen session.
    device_model = models.CharField(max_length=64)
    system_version = models.CharField(max_length=64)
    app_version = models.CharField(max_length=32)
    lang_code = models.CharField(max_length=8, default="en")
    system_lang_code = models.CharField(max_length=16, default="en-US")

    # Telegram's handle for the code it sent last; needed to sign in with that code.
    login_code_hash = models.CharField(max_length=64, blank=True)
    login_attempts_today = models.PositiveSmallIntegerField(default=0)
    login_attempts_date = models.DateField(null=True, blank=True)

    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Opening or answering a conversation in Switchboard marks it read on Telegram too (the sender sees
    # it read); off for teams that keep chats unread on Telegram for their own apps.
    read_on_telegram = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Operators who may work this account's conversations in the inbox (admins see every account).
    operators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="granted_accounts")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.phone})"

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"@{self.username}" if self.username else self.phone)

    def set_proxy(self, url: str) -> None:
        """Seal ``url`` (empty: direct) into the unsaved row; the caller saves both proxy fields."""
        if self.pk is None:
            raise ValueError("save the Account before sealing its proxy: the row id is part of the seal")
        self.proxy_sealed = vault.seal(url.encode(), context=self.proxy_context()) if url else None
        self.proxy_shown = proxy_shown(url)

    def proxy_url(self) -> str:
        """The full proxy URL, credentials included, for the session host that connects through it."""
        if not self.proxy_sealed:
            return ""
        return vault.unseal(bytes(self.proxy_sealed), context=self.proxy_context()).decode()

    def proxy_context(self) -> str:
        return f"proxy:{self.pk}"

    @property
    def queue(self) -> str:
        """The command queue of this account, consumed only by the host holding its lease."""
        return command_queue(self.pk)


def proxy_shown(url: str) -> str:
    """Where a proxy URL points, for display: scheme://host:port, never its username or password."""
    if not url:
        return ""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else (parts.hostname or "?")
    return f"{parts.scheme}://{host}{port}"


# "Paused until resumed": outreach stops, the inbox keeps working. A date no pause reaches by itself.
OUTREACH_PAUSED_INDEFINITELY = datetime(9999, 1, 1, tzinfo=UTC)


def command_queue(account_id: int) -> str:
    return f"{settings.COMMAND_QUEUE_PREFIX}.{account_id}"


# Statuses in which a session host keeps the account connected (login flows need a connection too).
HOSTED_STATUSES = (
    Account.Status.NEW,
    Account.Status.CODE_SENT,
    Account.Status.PASSWORD_NEEDED,
    Account.Status.ACTIVE,
    Account.Status.COOLDOWN,
    Account.Status.SPAM_LIMITED,
)


class TelegramSession(models.Model):
    """The account's MTProto session (auth key, DC, update state), sealed as one blob.

    Every write bumps ``version`` (part of the seal's associated data) and succeeds only while the
    writer holds the account's lease with the current fencing token: see accounts.leases.
    ``auth_key_id`` is the key's non-secret fingerprint (accounts.sessions.auth_key_id), unique, so the
    database itself refuses to keep one auth key for two accounts (Telegram would kill it as duplicated).
    """

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="session"
    )
    blob = models.BinaryField(editable=False)
    version = models.PositiveIntegerField(default=0)
    fencing_token = models.BigIntegerField(default=0)
    auth_key_id = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of account {self.account_id} v{self.version}"

    def context(self) -> str:
        return session_context(account_id=self.account_id, version=self.version)


def session_context(*, account_id: int, version: int) -> str:
    return f"session:{account_id}:{version}"


class HostLiveness(models.Model):
    """A session host is alive until ``expires_at`` (the database's clock), and every lease it holds with
    it: one row per host process, renewed by one small UPDATE however many accounts it holds."""

    holder = models.CharField(max_length=200, primary_key=True)
    beat_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.holder} alive until {self.expires_at:%H:%M:%S}"


class Lease(models.Model):
    """Ownership of an account by one session host. ``token`` grows with every new owner. The lease is
    live while its holder's HostLiveness row is (accounts.leases)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="lease")
    holder = models.CharField(max_length=200, blank=True, db_index=True)
    token = models.BigIntegerField(default=0)
    acquired_at = models.DateTimeField(null=True, blank=True)
    # Revoked while held: no session writes or commands, and no claims until released or its holder dies.
    revoking = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"lease {self.account_id} → {self.holder or 'nobody'} #{self.token}"


class Entity(models.Model):
    """Telethon's entity cache for one account (peer → access hash), bounded per account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entities")
    peer_id = models.BigIntegerField()  # Telethon's marked id (users positive, chats/channels negative)
    access_hash = models.BigIntegerField()
    username = models.CharField(max_length=64, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=255, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "peer_id"], name="entity_unique_per_account")
        ]
        indexes = [models.Index(fields=["account", "-seen_at"])]

    def __str__(self) -> str:
        return f"{self.name or self.username or self.peer_id} (seen by account {self.account_id})"


class AccountEvent(models.Model):
    """Every status transition and notable operation of an account, with the reason."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        IMPORTED = "imported", "Imported"
        STATUS = "status", "Status changed"
        VALIDATED = "validated", "Validated"
        LOGIN_CODE_REQUESTED = "login_code_requested", "Login code requested"
        LOGIN_CODE_SUBMITTED = "login_code_submitted", "Login code submitted"
        LOGIN_PASSWORD_SUBMITTED = "login_password_submitted", "Login password submitted"
        LOGIN_FAILED = "login_failed", "Login failed"
        PAUSED = "paused", "Outreach paused"
        RESUMED = "resumed", "Outreach resumed"
        PROXY_CHANGED = "proxy_changed", "Proxy changed"
        OPERATORS_CHANGED = "operators_changed", "Operators changed"
        JOINED = "joined", "Joined a chat"
        LEFT = "left", "Left a chat"
        INBOX_BACKFILL_QUEUED = "inbox_backfill_queued", "Inbox backfill queued"
        INBOX_BACKFILLED = "inbox_backfilled", "Inbox backfilled"
        # A message from Telegram's service account, codes masked; detail holds its telegram_id and text.
        SERVICE_NOTIFICATION = "service_notification", "Service notification"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.to_status}".strip()


vault.register(model="accounts.ApiApp", field="api_hash_sealed", context=ApiApp.api_hash_context)
vault.register(model="accounts.Account", field="proxy_sealed", context=Account.proxy_context)
vault.register(
    model="accounts.TelegramSession", field="blob", context=TelegramSession.context, version_field="version"
)


class Operation(models.Model):
    """One run of an account command, from queueing to its outcome (accounts.registry writes it).

    The id is the command's Celery task id, so a redelivered or retried command keeps its operation.
    Params are not kept: they may carry sealed login codes, and the outcome is what callers read.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting"  # will run again after wait_seconds (flood, budget, slow mode)
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="operations")
    command = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Why it failed or waits, in plain words; `error` is the kind (registry.ERROR_KINDS), `wait_reason`
    # flood / budget / slowmode.
    reason = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, blank=True)  # the account's status after an account-level error
    code = models.CharField(max_length=64, blank=True)  # Telegram's error name, when Telegram refused
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    wait_reason = models.CharField(max_length=10, blank=True)
    result = models.JSONField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["account", "-queued_at"])]

    def __str__(self) -> str:
        return f"{self.command} {self.state}"


class OutgoingFile(models.Model):
    """A file on its way to Telegram through an account command (the API's "send a file from a URL"): the
    web process downloads it, the account's session host uploads it. PostgreSQL carries it between the
    two because the command may wait in its queue for hours and a broker message must stay small.

    Once sent, the bytes are dropped and Telegram's message id kept, so a redelivered command answers
    with that id instead of uploading again (accounts.outgoing)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="outgoing_files")
    name = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255, blank=True)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    sent_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"
