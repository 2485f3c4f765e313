"""Only admins see the console: every page answers admins, refuses operators, sends visitors to log in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account

pytestmark = pytest.mark.django_db

PAGES = [
    ("accounts:index", False),
    ("accounts:new", False),
    ("accounts:import", False),
    ("accounts:alerts", False),
    ("accounts:detail", True),
    ("accounts:login", True),
    ("accounts:login_poll", True),
    ("accounts:logout_poll", True),
    ("accounts:delete", True),
]
ACTIONS = [
    "accounts:bulk",
    "accounts:pause",
    "accounts:resume",
    "accounts:disable",
    "accounts:proxy",
    "accounts:operators",
    "accounts:logout",
    "accounts:delete",
    "accounts:request_code",
    "accounts:submit_code",
    "accounts:submit_password",
    "accounts:restart",
    "accounts:forget",
]
NO_ACCOUNT = {"accounts:bulk"}


@pytest.fixture
def account(make_account) -> Account:
    return make_account()


def url(name: str, account: Account, *, per_account: bool = True) -> str:
    return reverse(name, args=[account.pk]) if per_account else reverse(name)


@pytest.mark.parametrize(("name", "per_account"), PAGES)
def test_every_page_opens_for_an_admin(admin_client, account, name, per_account):
    assert admin_client.get(url(name, account, per_account=per_account)).status_code == 200


@pytest.mark.parametrize(("name", "per_account"), PAGES)
def test_every_page_refuses_an_operator(operator_client, account, name, per_account):
    assert operator_client.get(url(name, account, per_account=per_account)).status_code == 403


@pytest.mark.parametrize(("name", "per_account"), PAGES)
def test_every_page_sends_an_anonymous_visitor_to_log_in(client, account, name, per_account):
    response = client.get(url(name, account, per_account=per_account))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_refuses_an_operator_and_changes_nothing(operator_client, account, name):
    before = list(Account.objects.values_list("id", "status", "proxy_shown", "outreach_paused_until"))
    response = operator_client.post(
        url(name, account, per_account=name not in NO_ACCOUNT), {"ids": [account.pk]}
    )
    assert response.status_code == 403
    assert list(Account.objects.values_list("id", "status", "proxy_shown", "outreach_paused_until")) == before


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_sends_an_anonymous_visitor_to_log_in(client, account, name):
    response = client.post(url(name, account, per_account=name not in NO_ACCOUNT))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert Account.objects.filter(pk=account.pk).exists()


def test_pages_of_a_missing_account_are_404(admin_client):
    assert admin_client.get(reverse("accounts:detail", args=[999999])).status_code == 404
    assert admin_client.get(reverse("accounts:login", args=[999999])).status_code == 404
