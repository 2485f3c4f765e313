"""Per-day rollups of the inbox's messages and reporting events, kept by PostgreSQL triggers.

Every statement that inserts, updates or deletes messages or events (a batch of ingestion, a reply
stored by the inbox, a merge, a deletion, a cascade) adds its effect to these rows in its own
transaction, in one set-based upsert per statement (``n = n + EXCLUDED.n``): no write path can miss
them, and nothing is backfilled at night. Days are local days of the reports' time zone
(``settings.TIME_ZONE`` when the triggers were created; see migration 0002). Deleted messages are not
counted; counts may reach zero.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class ConversationDay(models.Model):
    """Messages of one conversation on one day (its group by account, assignee and labels is read from
    the conversation at report time, as the row-based report does)."""

    conversation_id = models.BigIntegerField()  # no foreign key: rows follow the messages, not the chat
    day = models.DateField()
    account_id = models.BigIntegerField()  # the conversation's (it never changes)
    inbound = models.IntegerField(default=0)
    outbound = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "day"], name="conversation_day_key")
        ]
        # The team report reads an account's conversation-days in conversation order (no sort of them).
        indexes = [
            models.Index(fields=["account_id", "conversation_id", "day"], include=["inbound", "outbound"],
                         name="conversation_day_account"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} on {self.day}: {self.inbound} in, {self.outbound} out"


class OperatorDay(models.Model):
    """Outbound messages per day, account and operator (``sent_by``; NULL for automated ones)."""

    day = models.DateField()
    account_id = models.BigIntegerField()
    operator_id = models.BigIntegerField(null=True)
    outbound = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "account_id", "operator_id"], name="operator_day_key", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"operator {self.operator_id} of account {self.account_id} on {self.day}: {self.outbound}"


class ResponseDay(models.Model):
    """Human and automated first responses and reply times (``inbox.ResponseEvent``) of one day, per
    account, per operator (NULL: automated) or per label of the event (``dimension`` and ``key``), with
    the account they belong to (for the accounts a user may see). Kept by triggers on
    ``inbox_responseevent`` like the message rollups. The values themselves are kept, not only their
    count and sum, so medians and p90s over long ranges stay exact: unnesting a day's compact array is
    far cheaper than reading an event row."""

    class Dimension(models.TextChoices):
        ACCOUNT = "account"
        OPERATOR = "operator"
        LABEL = "label"

    day = models.DateField()
    dimension = models.CharField(max_length=8, choices=Dimension.choices)
    key = models.BigIntegerField(null=True)
    account_id = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    automated = models.BooleanField()
    n = models.IntegerField(default=0)
    seconds = ArrayField(models.FloatField(), default=list)
    business_seconds = ArrayField(models.FloatField(), default=list)
    # Human values per histogram bucket (reports.selectors.BUCKETS), clock and business hours.
    seconds_buckets = ArrayField(models.IntegerField(), default=list)
    business_buckets = ArrayField(models.IntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "key", "account_id", "kind", "automated"],
                name="response_day_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["dimension", "day"], name="response_day_dimension_day")]

    def __str__(self) -> str:
        return f"{self.n} {self.kind} of {self.dimension} {self.key} on {self.day}"
