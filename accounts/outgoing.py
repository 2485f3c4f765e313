"""Files on their way to Telegram: stored by whoever fetched them, sent by the account's session host.

See accounts.models.OutgoingFile for why they travel through PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Account, OutgoingFile


def outgoing_file_store(*, account: Account, name: str, mime_type: str, data: bytes) -> OutgoingFile:
    return OutgoingFile.objects.create(
        account=account, name=name[:255], mime_type=mime_type[:255], data=data, size=len(data)
    )


def outgoing_file_sent(*, file_id: int, message_id: int) -> None:
    """Drop the bytes and keep the message id: a redelivered command answers with it and sends nothing."""
    OutgoingFile.objects.filter(pk=file_id).update(data=b"", sent_message_id=message_id)


def outgoing_file_forget(*, file_id: int) -> None:
    """The send failed for good: nobody will send these bytes."""
    OutgoingFile.objects.filter(pk=file_id).delete()


def outgoing_files_prune(*, older_than: timedelta) -> int:
    """Forget files (sent or stranded by a lost command) stored before ``older_than`` ago."""
    return OutgoingFile.objects.filter(created_at__lt=timezone.now() - older_than).delete()[0]
