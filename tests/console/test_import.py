"""Importing a session from the console: a pasted StringSession or an uploaded Telethon .session file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

from accounts.models import Account, TelegramSession

pytestmark = pytest.mark.django_db
KEY = bytes(range(256))


def session_file(tmp_path) -> bytes:
    session = SQLiteSession(str(tmp_path / "exported"))
    session.set_dc(2, "127.0.0.1", 9443)
    session.auth_key = AuthKey(KEY)
    session.save()
    session.close()
    return (tmp_path / "exported.session").read_bytes()


def post(client, **data):
    return client.post(reverse("accounts:import"), data, HTTP_HX_REQUEST="true")


def test_an_uploaded_session_file_becomes_an_account_being_validated(admin_client, api_app, tmp_path):
    upload = SimpleUploadedFile("exported.session", session_file(tmp_path))
    response = post(admin_client, api_app=api_app.pk, session_file=upload, phone="")
    account = Account.objects.get()
    assert response["HX-Redirect"] == reverse("accounts:detail", args=[account.pk])
    assert account.status == Account.Status.ACTIVE and account.status_reason == "Imported; validating"
    assert KEY not in bytes(TelegramSession.objects.get(account=account).blob)  # sealed


def test_a_pasted_string_session_becomes_an_account(admin_client, api_app):
    string = StringSession()
    string.set_dc(2, "127.0.0.1", 9443)
    string.auth_key = AuthKey(KEY)
    post(admin_client, api_app=api_app.pk, string_session=string.save(), phone="+999 66 2 4444")
    assert Account.objects.get().phone == "9996624444"


def test_what_is_not_a_session_is_refused_in_plain_words(admin_client, api_app, tmp_path):
    html = post(admin_client, api_app=api_app.pk, string_session="hello").content.decode()
    assert "That is not a Telethon session string" in html
    junk = SimpleUploadedFile("junk.session", b"not sqlite at all" * 100)
    html = post(admin_client, api_app=api_app.pk, session_file=junk).content.decode()
    assert "That is not a Telethon .session file" in html
    html = post(admin_client, api_app=api_app.pk).content.decode()
    assert "Paste a StringSession or upload a .session file" in html
    assert not Account.objects.exists()


def test_a_number_already_in_the_fleet_is_refused_before_connecting(admin_client, api_app, make_account):
    existing = make_account()
    string = StringSession()
    string.set_dc(2, "127.0.0.1", 9443)
    string.auth_key = AuthKey(KEY)
    html = post(admin_client, api_app=api_app.pk, string_session=string.save(), phone=existing.phone)
    assert "An account with this phone number already exists" in html.content.decode()
    assert Account.objects.count() == 1


def test_the_pasted_session_is_never_echoed_back(admin_client, api_app):
    string = StringSession()
    string.set_dc(2, "127.0.0.1", 9443)
    string.auth_key = AuthKey(KEY)
    html = post(admin_client, api_app=api_app.pk, string_session=string.save(), proxy="bad").content.decode()
    assert "proxy must look like" in html
    assert string.save() not in html
