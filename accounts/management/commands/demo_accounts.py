from __future__ import annotations

import secrets
import signal
import socket
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import onboarding, registry, services
from accounts.models import Account, ApiApp
from accounts.telegram.client import configured_dc
from crm.models import User

DEMO_PHONES = "9996620001,9996620002,9996620003,9996620005"  # tgsim demo world; the last has 2FA


class Command(BaseCommand):
    help = (
        "Onboard the demo accounts through the normal login flow (needs TELEGRAM_DC pointing at a test DC "
        "such as tgsim, and a running session host). Test-DC numbers 99966XYYYY log in with the code XXXXX."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phones", default=DEMO_PHONES)
        parser.add_argument(
            "--password", default="demo-2fa", help="2FA password of demo numbers that have one"
        )
        parser.add_argument(
            "--stay",
            action="store_true",
            help="keep running afterwards (under honcho, one exiting process stops them all)",
        )

    def handle(self, *args: Any, phones: str, password: str, stay: bool, **options: Any) -> None:
        dc = configured_dc()
        if dc is None:
            raise CommandError("TELEGRAM_DC is not set: demo accounts only log in to a test DC such as tgsim")
        self._wait_for_port(dc[1], dc[2])
        app = ApiApp.objects.filter(name="Demo app").first() or services.api_app_create(
            name="Demo app", api_id=100001, api_hash=secrets.token_hex(16)
        )
        operator = User.objects.filter(username="operator").first()
        for phone in phones.split(","):
            account = Account.objects.filter(phone=phone).first()
            if account is None:
                account = services.account_create(phone=phone, api_app=app)
                # Granted once, when the demo creates the account: an admin who revokes the operator's
                # access later keeps it revoked across restarts.
                if operator:
                    account.operators.add(operator)
            if account.status != Account.Status.ACTIVE:
                self._log_in(account, password=password)
        if stay:
            signal.pause()

    def _log_in(self, account: Account, *, password: str) -> None:
        if account.status not in (
            Account.Status.NEW,
            Account.Status.CODE_SENT,
            Account.Status.PASSWORD_NEEDED,
        ):
            account = onboarding.login_restart(account=account)
        code = account.phone[5] * 5  # Telegram's test-DC convention
        try:
            # The first answer waits for a session host to start and claim the account.
            registry.wait(onboarding.login_request_code(account=account, confirm=True), timeout=180)
            result = registry.wait(onboarding.login_submit_code(account=account, code=code), timeout=180)
            if result.get("status") == Account.Status.PASSWORD_NEEDED:
                registry.wait(
                    onboarding.login_submit_password(account=account, password=password), timeout=180
                )
        except registry.CommandError as error:
            self.stderr.write(f"demo account {account.phone}: {error.reason}")
            return
        account.refresh_from_db()
        self.stdout.write(f"demo account {account.phone}: signed in as {account.display_name}")

    def _wait_for_port(self, host: str, port: int) -> None:
        for _ in range(120):
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(1)
        raise CommandError(f"Nothing answers at {host}:{port} ({settings.TELEGRAM_DC})")
