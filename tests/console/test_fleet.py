"""The fleet page: every account with status, host, cooldown, budget use, activity; filters, pages, bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import budgets, selectors
from accounts.models import Account, AccountEvent, HostLiveness, Lease
from accounts.services import OUTREACH_PAUSED_INDEFINITELY

pytestmark = pytest.mark.django_db
S = Account.Status


def fleet(client, **params):
    return client.get(reverse("accounts:index"), params).content.decode()


def test_it_lists_every_account_with_status_host_budget_and_activity(admin_client, make_account):
    quiet = make_account()
    busy = make_account(status=S.ACTIVE)
    Account.objects.filter(pk=busy.pk).update(first_name="Busy", last_activity_at=timezone.now())
    Lease.objects.filter(account=busy).update(holder="host-a@box")
    HostLiveness.objects.create(holder="host-a@box", expires_at=timezone.now() + timedelta(60))
    # Budget buckets live in Redis under the account id, which other test runs reuse: start both full.
    budgets.reset(account_id=quiet.pk)
    budgets.reset(account_id=busy.pk)
    budgets.take(account_id=busy.pk, action="new_dm")
    html = fleet(admin_client)
    assert f'id="account-{quiet.pk}"' in html and f'id="account-{busy.pk}"' in html
    assert "Busy" in html and "host-a@box" in html
    assert "new DMs 1/20" in html and "new DMs 0/20" in html
    assert "0\xa0minutes ago" in html  # last activity


def test_it_counts_down_a_cooldown(admin_client, make_account):
    account = make_account(status=S.COOLDOWN)
    Account.objects.filter(pk=account.pk).update(cooldown_until=timezone.now() + timedelta(minutes=5))
    html = fleet(admin_client)
    assert "ends in <time data-countdown" in html


def test_it_filters_by_status_search_and_attention(admin_client, make_account):
    ok = make_account(status=S.ACTIVE)
    banned = make_account(status=S.BANNED)
    Account.objects.filter(pk=ok.pk).update(username="findme")
    assert f"account-{banned.pk}" not in fleet(admin_client, status="active")
    assert f"account-{ok.pk}" not in fleet(admin_client, attention="on")
    found = fleet(admin_client, q="@findme")
    assert f"account-{ok.pk}" in found and f"account-{banned.pk}" not in found


def test_it_pages_the_fleet(admin_client, make_account):
    for _ in range(selectors.PAGE_SIZE + 1):
        make_account()
    first, second = fleet(admin_client), fleet(admin_client, page=2)
    assert first.count('name="ids"') == selectors.PAGE_SIZE
    assert second.count('name="ids"') == 1
    assert "page 2 of 2" in second


def test_an_htmx_request_gets_only_the_fleet_fragment(admin_client, make_account):
    make_account()
    html = admin_client.get(reverse("accounts:index"), HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<section id="fleet">') and "<html" not in html


def test_alerting_accounts_show_in_a_banner_and_a_nav_badge(admin_client, make_account):
    make_account(status=S.REAUTH_REQUIRED)
    make_account(status=S.SPAM_LIMITED)
    make_account(status=S.ACTIVE)
    html = fleet(admin_client)
    assert "2 accounts need attention" in html
    assert "1 re-login required" in html and "1 spam-limited" in html
    assert '<span class="badge" title="Accounts that need attention">2</span>' in html
    inbox = admin_client.get(reverse("inbox:index")).content.decode()
    assert 'class="badge"' in inbox


def bulk(client, action, accounts, **extra):
    return client.post(
        reverse("accounts:bulk"),
        {"action": action, "ids": [a.pk for a in accounts], **extra},
        HTTP_HX_REQUEST="true",
    )


def test_bulk_pause_and_resume_stop_and_restart_outreach(admin_client, make_account):
    a, b = make_account(status=S.ACTIVE), make_account(status=S.ACTIVE)
    response = bulk(admin_client, "pause", [a, b])
    assert "Pause outreach: 2 of 2 accounts" in response.content.decode()
    assert set(Account.objects.values_list("outreach_paused_until", flat=True)) == {
        OUTREACH_PAUSED_INDEFINITELY
    }
    assert "outreach paused" in response.content.decode()
    bulk(admin_client, "resume", [a, b])
    assert set(Account.objects.values_list("outreach_paused_until", flat=True)) == {None}
    assert AccountEvent.objects.filter(kind="paused").count() == 2


def test_bulk_disable_takes_accounts_from_their_host_and_resume_brings_them_back(admin_client, make_account):
    account = make_account(status=S.ACTIVE)
    Account.objects.filter(pk=account.pk).update(telegram_id=424242)
    Lease.objects.filter(account=account).update(holder="h", token=7)
    HostLiveness.objects.create(holder="h", expires_at=timezone.now() + timedelta(60))
    bulk(admin_client, "disable", [account])
    account.refresh_from_db()
    lease = Lease.objects.get(account=account)
    assert account.status == S.DISABLED
    # The old holder learns of it at its next check; it keeps the lease only until it has disconnected.
    assert (lease.holder, lease.token, lease.revoking) == ("h", 7, True)
    bulk(admin_client, "resume", [account])
    account.refresh_from_db()
    assert account.status == S.NEW  # it holds no session, so it goes back to the login wizard


def test_bulk_proxy_checks_the_url_and_moves_the_accounts(admin_client, make_account):
    a, b = make_account(), make_account()
    bad = bulk(admin_client, "proxy", [a, b], proxy="ftp://nowhere")
    assert "proxy must look like" in bad.content.decode()
    bulk(admin_client, "proxy", [a, b], proxy="socks5://u:secretpw@10.0.0.1:1080")
    assert {account.proxy_url() for account in Account.objects.all()} == {"socks5://u:secretpw@10.0.0.1:1080"}
    assert "secretpw" not in fleet(admin_client)


def test_bulk_grant_gives_an_operator_the_accounts(admin_client, make_account, operator):
    a, b = make_account(), make_account()
    bulk(admin_client, "grant", [a, b], operator=operator.pk)
    assert set(operator.granted_accounts.all()) == {a, b}
    bulk(admin_client, "revoke", [a], operator=operator.pk)
    assert set(operator.granted_accounts.all()) == {b}


def test_bulk_without_a_selection_says_so(admin_client, make_account):
    make_account()
    response = admin_client.post(reverse("accounts:bulk"), {"action": "pause"}, HTTP_HX_REQUEST="true")
    assert "Select at least one account" in response.content.decode()


def test_the_fleet_page_costs_the_same_queries_for_many_accounts(
    admin_client, make_account, django_assert_max_num_queries
):
    for _ in range(3):
        make_account()
    with django_assert_max_num_queries(20) as few:
        fleet(admin_client)
    for _ in range(20):
        make_account(status=S.ACTIVE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        fleet(admin_client)


def test_a_flash_message_shows_once_after_a_plain_form_post(admin_client, make_account):
    account = make_account(status=S.ACTIVE)
    response = admin_client.post(
        reverse("accounts:bulk"), {"action": "pause", "ids": [account.pk]}, follow=True
    )
    assert response.content.decode().count("Pause outreach: 1 of 1 account") == 1


def test_the_alert_banner_refreshes_itself(admin_client, make_account):
    assert 'id="alert-banner"' not in admin_client.get(reverse("accounts:alerts")).content.decode()
    make_account(status=S.BANNED)
    html = admin_client.get(reverse("accounts:alerts"), HTTP_HX_REQUEST="true").content.decode()
    assert "1 banned" in html and 'hx-trigger="every 10s, live:fleet from:body"' in html
