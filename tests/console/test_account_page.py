"""One account's page: profile, history, errors, budgets, proxy, fingerprint, grants, and its actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import imports, services
from accounts.models import Account, AccountEvent, TelegramSession
from accounts.sessions import SessionState

pytestmark = pytest.mark.django_db
S = Account.Status


def page(client, account, **params) -> str:
    return client.get(reverse("accounts:detail", args=[account.pk]), params).content.decode()


@pytest.fixture
def imported(api_app) -> Account:
    state = SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=b"k" * 256)
    account = imports.account_import(state=state, api_app=api_app, phone="+99966 2 9999")
    Account.objects.filter(pk=account.pk).update(telegram_id=777, first_name="Ivy", username="ivy")
    account.refresh_from_db()
    return account


def test_it_shows_profile_history_budgets_fingerprint_and_no_secrets(admin_client, imported, api_app):
    html = page(admin_client, imported)
    assert "Ivy" in html and "@ivy" in html and "+999662999" in html and "777" in html
    assert imported.device_model in html and imported.app_version in html
    assert "imported" in html  # the history
    assert "new_dm" in html and "resolve_username" in html  # every budget
    assert "Warm-up" in html
    assert api_app.api_hash() not in html


def test_it_lists_recent_errors(admin_client, imported):
    services.account_transition(account_id=imported.pk, to=S.REAUTH_REQUIRED, reason="SESSION_REVOKED here")
    html = page(admin_client, imported)
    errors = html.split("Recent errors")[1].split("History")[0]
    assert "SESSION_REVOKED here" in errors
    assert "Re-login" in html  # the re-login button for reauth_required


def test_pause_resume_and_disable_from_the_page(admin_client, imported):
    def post(name):
        return admin_client.post(reverse(f"accounts:{name}", args=[imported.pk]), HTTP_HX_REQUEST="true")

    assert "until resumed" in post("pause").content.decode()
    assert "running" in post("resume").content.decode()
    post("disable")
    imported.refresh_from_db()
    assert imported.status == S.DISABLED
    post("resume")
    imported.refresh_from_db()
    assert imported.status == S.ACTIVE  # it has its session, so straight back online


def test_the_proxy_is_validated_changed_and_shown_without_its_password(admin_client, imported):
    url = reverse("accounts:proxy", args=[imported.pk])
    bad = admin_client.post(url, {"proxy": "socks5://nohost"}, HTTP_HX_REQUEST="true").content.decode()
    assert "proxy must look like" in bad
    good = admin_client.post(url, {"proxy": "socks5://bob:hunter2@10.1.1.1:1080"}, HTTP_HX_REQUEST="true")
    html = good.content.decode()
    assert "socks5://10.1.1.1:1080" in html and "hunter2" not in html and "bob:" not in html
    imported.refresh_from_db()
    assert imported.proxy_url() == "socks5://bob:hunter2@10.1.1.1:1080"
    assert AccountEvent.objects.filter(account=imported, kind="proxy_changed").exists()


def test_admins_grant_operators_access(admin_client, imported, operator, outsider):
    url = reverse("accounts:operators", args=[imported.pk])
    admin_client.post(url, {"operators": [operator.pk]}, HTTP_HX_REQUEST="true")
    assert list(imported.operators.all()) == [operator]
    admin_client.post(url, {"operators": [outsider.pk]}, HTTP_HX_REQUEST="true")
    assert list(imported.operators.all()) == [outsider]
    assert AccountEvent.objects.filter(account=imported, kind="operators_changed").count() == 2


def test_delete_asks_first_then_erases_the_sealed_session(admin_client, imported):
    url = reverse("accounts:delete", args=[imported.pk])
    assert "Delete Ivy?" in admin_client.get(url).content.decode()
    assert TelegramSession.objects.filter(account=imported).exists()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert not Account.objects.filter(pk=imported.pk).exists()
    assert not TelegramSession.objects.filter(account_id=imported.pk).exists()


def test_terminating_a_session_needs_a_logged_in_account(admin_client, make_account):
    account = make_account()
    html = admin_client.post(
        reverse("accounts:logout", args=[account.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "The account is not logged in" in html


def test_terminate_session_queues_the_log_out_and_polls_for_it(admin_client, imported):
    from tests.support.operations import finish

    html = admin_client.post(
        reverse("accounts:logout", args=[imported.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Terminating the session" in html and reverse("accounts:logout_poll", args=[imported.pk]) in html
    task_id = admin_client.session["console_tasks"][str(imported.pk)]["id"]
    finish(task_id, {"ok": True})
    done = admin_client.get(reverse("accounts:logout_poll", args=[imported.pk]), HTTP_HX_REQUEST="true")
    assert "Session terminated" in done.content.decode()
    imported.refresh_from_db()
    assert imported.status == S.DISABLED
    assert not TelegramSession.objects.filter(account=imported).exists()


def test_an_import_being_validated_polls_for_the_result(admin_client, api_app):
    state = SessionState(dc_id=2, server_address="127.0.0.1", port=1, auth_key=b"k" * 256)
    account = imports.account_import(state=state, api_app=api_app)
    html = page(admin_client, account)
    assert "validating the imported session" in html and 'hx-trigger="load delay:1500ms"' in html
    assert "not known yet" in html  # the number comes from Telegram once connected
