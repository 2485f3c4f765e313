from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from inbox.models import CannedReply, Label

LABELS = (
    ("hot lead", "#c0392b"),
    ("viewing booked", "#2a7ae2"),
    ("follow up", "#d68910"),
    ("paid", "#1e8449"),
)
CANNED = (
    ("hello", "Hi! Thanks for your message — how can I help?"),
    ("price", "The rent is 1,200 a month, bills included. A deposit of one month secures it."),
    ("viewing", "Happy to show you around. Would Saturday at 11:00 work for you?"),
    ("thanks", "Thank you! Have a great day."),
)


class Command(BaseCommand):
    help = "Create the demo's labels and canned replies (idempotent). For the local demo only."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, color in LABELS:
            Label.objects.get_or_create(name=name, defaults={"color": color})
        for shortcut, text in CANNED:
            CannedReply.objects.get_or_create(shortcut=shortcut, defaults={"text": text})
        self.stdout.write(f"{len(LABELS)} labels, {len(CANNED)} canned replies")
