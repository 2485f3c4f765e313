"""Proxy URLs carry credentials: they are sealed at rest like API hashes, shown as scheme://host:port only,
and never echoed back into a page or a re-rendered form."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import Account
from crm import vault

pytestmark = pytest.mark.django_db

PROXY = "socks5://bob:hunter2@10.1.1.1:1080"
CREDENTIALS = ("hunter2", "bob:")


def assert_no_credentials(html: str) -> None:
    for secret in CREDENTIALS:
        assert secret not in html


def test_it_seals_the_proxy_at_rest_and_shows_only_where_it_points(api_app):
    account = services.account_create(phone="+9996631001", api_app=api_app, proxy=PROXY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT proxy_sealed, proxy_shown FROM accounts_account WHERE id = %s", [account.pk])
        sealed, shown = cursor.fetchone()
    assert b"hunter2" not in bytes(sealed) and b"bob" not in bytes(sealed)
    assert shown == "socks5://10.1.1.1:1080"
    account.refresh_from_db()
    assert account.proxy_url() == PROXY
    other = services.account_create(phone="+9996631002", api_app=api_app)
    with pytest.raises(vault.TamperedError):  # a blob copied to another row does not open
        vault.unseal(bytes(sealed), context=other.proxy_context())
    assert "accounts.Account.proxy_sealed" in [field.label for field in vault.registered_fields()]


def test_the_proxy_never_appears_in_the_account_page_or_the_fleet(admin_client, api_app):
    account = services.account_create(phone="+9996631003", api_app=api_app, proxy=PROXY)
    page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "socks5://10.1.1.1:1080" in page
    assert_no_credentials(page)
    assert_no_credentials(admin_client.get(reverse("accounts:index")).content.decode())


def test_re_rendered_forms_never_echo_the_proxy(admin_client, api_app, make_account):
    account = make_account()
    wrong_phone = admin_client.post(
        reverse("accounts:new"),
        {"step": "phone", "api_app": api_app.pk, "phone": "12", "proxy": PROXY},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "international format" in wrong_phone
    assert_no_credentials(wrong_phone)
    wrong_import = admin_client.post(
        reverse("accounts:import"), {"api_app": api_app.pk, "proxy": PROXY}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Paste a StringSession" in wrong_import
    assert_no_credentials(wrong_import)
    unusable = "socks5://bob:hunter2@nohost"
    refused = admin_client.post(
        reverse("accounts:proxy", args=[account.pk]), {"proxy": unusable}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "proxy must look like" in refused
    assert_no_credentials(refused)
    bulk = admin_client.post(
        reverse("accounts:bulk"), {"action": "proxy", "proxy": "socks5://bob:hunter2@10.1.1.1:99999"}
    ).content.decode()
    assert_no_credentials(bulk)


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_proxies():
    call_command("migrate", "accounts", "0002", verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM accounts_apiapp LIMIT 0")
            cursor.execute(
                "INSERT INTO accounts_apiapp (name, api_id, api_hash_sealed, created_at)"
                " VALUES ('old', 4242, '', now()) RETURNING id"
            )
            (app_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO accounts_account (phone, api_app_id, status, status_reason, status_changed_at,"
                " proxy, device_model, system_version, app_version, lang_code, system_lang_code,"
                " login_code_hash, login_attempts_today, created_at, username, first_name, last_name)"
                " VALUES ('9996631009', %s, 'new', '', now(), %s, 'd', 's', 'a', 'en', 'en-US', '', 0, now(),"
                " '', '', '') RETURNING id",
                [app_id, PROXY],
            )
            (account_id,) = cursor.fetchone()
    finally:
        call_command("migrate", verbosity=0)
    account = Account.objects.get(pk=account_id)
    assert account.proxy_url() == PROXY
    assert account.proxy_shown == "socks5://10.1.1.1:1080"
    assert b"hunter2" not in bytes(account.proxy_sealed)
