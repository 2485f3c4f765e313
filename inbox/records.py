"""What ingestion carries from Telegram to storage, gathered into batches.

The records themselves (MessageRecord, Deletion, ReadMark …) are the Telegram layer's
(``accounts.telegram.records``): it builds them on the session host; inbox.store writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.telegram.records import Deletion, MessageRecord, ReadMark


@dataclass
class Batch:
    messages: list[MessageRecord] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    reads: list[ReadMark] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages) + len(self.deletions) + len(self.reads)

    def extend(self, other: Batch) -> None:
        self.messages.extend(other.messages)
        self.deletions.extend(other.deletions)
        self.reads.extend(other.reads)
