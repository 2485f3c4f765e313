from __future__ import annotations

import getpass
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import imports, onboarding, registry, services
from accounts.models import Account, ApiApp

S = Account.Status
WAIT = 90.0  # seconds for a session host to pick the command up and answer


class Command(BaseCommand):
    help = "Add (log in), import or list Telegram accounts. Needs a running session host for add/import."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="log a phone number in (asks for the code and 2FA password)")
        add.add_argument("--phone", required=True)
        add.add_argument("--proxy", default="")
        self._api_args(add)
        imp = sub.add_parser("import", help="import a Telethon StringSession or .session file")
        source = imp.add_mutually_exclusive_group(required=True)
        source.add_argument("--string", help="a StringSession (use '-' to read it from standard input)")
        source.add_argument("--file", help="a Telethon .session (SQLite) file")
        imp.add_argument("--phone", default="")
        imp.add_argument("--proxy", default="")
        self._api_args(imp)
        sub.add_parser("list", help="list accounts with status and holder")

    def _api_args(self, parser: CommandParser) -> None:
        parser.add_argument("--api-id", type=int, help="Telegram API id (first time only)")
        parser.add_argument("--api-hash", help="Telegram API hash (first time only; prompted if omitted)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"do_{action}")(**options)

    # --- add --------------------------------------------------------------------------------------

    def do_add(self, *, phone: str, proxy: str, api_id: int | None, api_hash: str | None, **_: Any) -> None:
        app = self._api_app(api_id, api_hash)
        try:
            account = services.account_create(phone=phone, api_app=app, proxy=proxy)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Account #{account.pk} created; asking Telegram for a login code…")
        try:
            task_id = onboarding.login_request_code(account=account)
        except onboarding.NeedsConfirmation as warning:
            if input(f"{warning} Continue? [y/N] ").strip().lower() != "y":
                raise CommandError("Cancelled") from None
            task_id = onboarding.login_request_code(account=account, confirm=True)
        result = self._wait(task_id)
        while result.get("status") != Account.Status.ACTIVE:
            account.refresh_from_db()
            if (
                result.get("status") == Account.Status.PASSWORD_NEEDED
                or account.status == Account.Status.PASSWORD_NEEDED
            ):
                hint = result.get("hint") or ""
                password = getpass.getpass(f"2FA password{f' (hint: {hint})' if hint else ''}: ")
                result = self._wait(onboarding.login_submit_password(account=account, password=password))
            else:
                code = input("Login code: ")
                try:
                    result = self._wait(onboarding.login_submit_code(account=account, code=code))
                except ValueError as error:
                    self.stderr.write(str(error))
        account.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"Signed in as {account.display_name} (account #{account.pk})"))

    def _wait(self, operation_id: str) -> dict[str, Any]:
        """The login step's result; a refusal is printed and the step can be tried again."""
        try:
            return registry.wait(operation_id, timeout=WAIT)
        except registry.HostTimeout as error:
            raise CommandError(f"{error.reason}. Is a session host running?") from None
        except registry.Unavailable as error:
            raise CommandError(f"Cannot continue with this account: {error.reason}") from None
        except registry.CommandError as error:
            self.stderr.write(error.reason)
            return {}

    def _api_app(self, api_id: int | None, api_hash: str | None) -> ApiApp:
        if api_id:
            app = ApiApp.objects.filter(api_id=api_id).first()
            if app:
                return app
            try:
                return services.api_app_create(
                    name=f"API {api_id}", api_id=api_id, api_hash=api_hash or getpass.getpass("api_hash: ")
                )
            except ValueError as error:
                raise CommandError(str(error)) from None
        apps = list(ApiApp.objects.all()[:2])
        if len(apps) == 1:
            return apps[0]
        raise CommandError("Pass --api-id (and --api-hash the first time): which Telegram API app to use?")

    # --- import -----------------------------------------------------------------------------------

    def do_import(
        self,
        *,
        string: str | None,
        file: str | None,
        phone: str,
        proxy: str,
        api_id: int | None,
        api_hash: str | None,
        **_: Any,
    ) -> None:
        app = self._api_app(api_id, api_hash)
        try:
            if string == "-":
                string = input()
            if string:
                exported = imports.session_from_string(string)
            else:
                exported = imports.session_from_file(file or "")
            account = imports.account_import(
                state=exported.state, telegram_id=exported.telegram_id, api_app=app, phone=phone, proxy=proxy
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Account #{account.pk} imported; waiting for a session host to validate it…")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            account.refresh_from_db()
            if account.telegram_id or account.status != Account.Status.ACTIVE:
                break
            time.sleep(1)
        if account.telegram_id and account.status == Account.Status.ACTIVE:
            self.stdout.write(self.style.SUCCESS(f"Valid: {account.display_name} (account #{account.pk})"))
        else:
            raise CommandError(
                f"Not validated: {account.get_status_display()} {account.status_reason}".strip()
            )

    # --- list -------------------------------------------------------------------------------------

    def do_list(self, **_: Any) -> None:
        rows = Account.objects.select_related("lease").order_by("id")
        self.stdout.write(f"{'id':>5}  {'phone':<16} {'name':<24} {'status':<16} holder")
        for account in rows:
            holder = account.lease.holder if hasattr(account, "lease") else ""
            name = account.display_name[:24]
            self.stdout.write(
                f"{account.pk:>5}  {account.phone:<16} {name:<24} {account.status:<16} {holder}"
            )
