"""manage.py demo_accounts grants the demo operator an account once, when it creates it: an admin who
revokes that access keeps it revoked across restarts of the demo."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import Account
from crm.models import User

pytestmark = pytest.mark.django_db


def test_a_restart_does_not_grant_again_what_an_admin_revoked(tgsim, host_env, make_account, settings):
    settings.TELEGRAM_DC = host_env["TELEGRAM_DC"]  # the command only runs against a test DC
    demo_operator = User.objects.create_user("operator", password="x", role=User.Role.OPERATOR)
    account = make_account(phone="9996627001", status=Account.Status.ACTIVE)  # signed in already
    call_command("demo_accounts", phones=account.phone)
    assert not account.operators.filter(pk=demo_operator.pk).exists()  # it existed: not the demo's to grant

    account.operators.add(demo_operator)
    account.operators.remove(demo_operator)  # the admin revoked it
    call_command("demo_accounts", phones=account.phone)  # the next `./switchboard up`
    assert not account.operators.filter(pk=demo_operator.pk).exists()
