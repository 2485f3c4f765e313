"""What the chaos run counts at the end, from plain data: tgsim's records against our database.

Pure functions, so a unit test can plant a loss or a duplicate and see each counter move
(tests/chaos/test_counting.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Every outbound text the run causes carries one marker: cm<n> for the campaign's n-th recipient (its
# first name), rp<n> for the n-th operator reply. Telegram delivering one twice shows as a marker seen twice.
MARKER = re.compile(r"\b(?:cm|rp)\d+\b")

# (account id, peer id as our inbox stores it, Telegram message id as that account sees it)
Key = tuple[int, int, int]


@dataclass(frozen=True)
class Inbound:
    lost: int
    duplicated: int
    examples: tuple[str, ...] = ()
    lost_keys: tuple[Key, ...] = ()  # the first few, for the run to explain


def inbound(*, expected: Iterable[Key], stored: Iterable[Key]) -> Inbound:
    """Every message tgsim accepted for one of our accounts must be stored exactly once."""
    want = set(expected)
    rows = Counter(stored)
    lost = sorted(want - rows.keys())
    duplicated = sum(n - 1 for n in rows.values() if n > 1)
    examples = [f"lost {key}" for key in lost[:5]]
    examples += [f"stored {n}x {key}" for key, n in rows.items() if n > 1][:5]
    return Inbound(lost=len(lost), duplicated=duplicated, examples=tuple(examples), lost_keys=tuple(lost[:5]))


def outbound_duplicated(texts: Iterable[str]) -> tuple[int, list[str]]:
    """Texts our accounts sent, as tgsim recorded them: each marker must appear once."""
    seen = Counter(marker for text in texts for marker in MARKER.findall(text))
    twice = sorted(marker for marker, n in seen.items() if n > 1)
    return sum(seen[m] - 1 for m in twice), twice[:10]


def longest_offline(samples: Sequence[tuple[float, frozenset[int]]], accounts: Iterable[int]) -> float:
    """Seconds of the longest stretch any account spent offline, from samples (time, accounts online)
    taken at a steady interval. A stretch still open at the last sample ends there."""
    longest = 0.0
    for account in accounts:
        since: float | None = None
        for at, online in samples:
            if account in online:
                if since is not None:
                    longest = max(longest, at - since)
                since = None
            elif since is None:
                since = at
        if since is not None and samples:
            longest = max(longest, samples[-1][0] - since)
    return longest


@dataclass
class Report:
    """The chaos run's result: the counters that must be zero, and what happened."""

    inbound_expected: int = 0
    inbound_lost: int = 0
    inbound_duplicated: int = 0
    outbound_sent: int = 0
    outbound_duplicated: int = 0
    commands: int = 0
    commands_lost: int = 0
    # Failed for good with no reason but "something went wrong": an error no recovery flow knows. A fault
    # the run injects has a flow for it (run again, cool down, requeue), so each one is a bug to explain.
    commands_failed_unexplained: int = 0
    auth_key_duplicated: int = 0
    longest_offline: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    ZEROS = (
        "inbound_lost",
        "inbound_duplicated",
        "outbound_duplicated",
        "commands_lost",
        "commands_failed_unexplained",
        "auth_key_duplicated",
    )

    def problems(self) -> list[str]:
        return [f"{name} = {getattr(self, name)}" for name in self.ZEROS if getattr(self, name)]

    def table(self) -> str:
        rows = [
            ("inbound lost", f"{self.inbound_lost} of {self.inbound_expected}"),
            ("inbound duplicated", str(self.inbound_duplicated)),
            ("outbound duplicated", f"{self.outbound_duplicated} of {self.outbound_sent} sent"),
            ("commands lost", f"{self.commands_lost} of {self.commands}"),
            ("commands failed as 'something went wrong'", str(self.commands_failed_unexplained)),
            ("AUTH_KEY_DUPLICATED seen by tgsim", str(self.auth_key_duplicated)),
            ("longest time an account was offline", f"{self.longest_offline:.1f} s"),
        ]
        rows += [(f"fault: {name}", str(n)) for name, n in sorted(self.faults.items())]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        return "\n".join(lines + [f"note: {note}" for note in self.notes])

    def as_dict(self) -> dict[str, object]:
        return {**{k: v for k, v in vars(self).items() if k != "faults"}, "faults": dict(self.faults)}
