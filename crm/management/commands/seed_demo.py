from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.models import User

DEMO_USERS = (
    ("admin", User.Role.ADMIN),
    ("operator", User.Role.OPERATOR),
)


class Command(BaseCommand):
    help = "Create the demo admin and operator (idempotent). For the local demo only."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default="switchboard-demo")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"role": role})
            if created:
                user.set_password(password)
                user.save()
            self.stdout.write(f"{username} ({role}) {'created' if created else 'already there'}")
