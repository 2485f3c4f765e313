"""Terminating an account's Telegram session from its page, through a real session host and tgsim."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account, AccountEvent, Lease, TelegramSession
from tests.support.accounts import ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = Account.Status


def test_terminate_session_logs_out_on_telegram_and_keeps_the_account_offline(
    admin_client, tgsim, browser_host_env, api_app, tmp_path
):
    account, user_id = ready_account(tgsim, api_app, first_name="Terry")
    with session_host("console", log_path=tmp_path / "host.log", env=browser_host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=user_id).exists(),
            timeout=30,
            what="the host to validate the session",
        )
        admin_client.post(reverse("accounts:logout", args=[account.pk]), HTTP_HX_REQUEST="true")
        poll = reverse("accounts:logout_poll", args=[account.pk])

        def finished():
            html = admin_client.get(poll, HTTP_HX_REQUEST="true").content.decode()
            return html if "Terminating the session" not in html else None

        html = wait_for(finished, timeout=60, interval=0.3, what="the log-out to finish")
        assert "Session terminated" in html
        account.refresh_from_db()
        assert account.status == S.DISABLED
        assert not TelegramSession.objects.filter(account=account).exists()
        # It stays that way: no host reconnects it, and no alert claims Telegram revoked it.
        wait_for(
            lambda: Lease.objects.get(pk=account.pk).holder == "",
            timeout=15,
            what="the host to let go",
        )
    account.refresh_from_db()
    assert account.status == S.DISABLED
    assert not TelegramSession.objects.filter(account=account).exists()
    assert not AccountEvent.objects.filter(account=account, to_status=S.REAUTH_REQUIRED).exists()
    assert tgsim.world_call("user_info", user_id)  # the Telegram account itself is untouched
