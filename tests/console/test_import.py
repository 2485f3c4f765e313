"""Importing a session from the console: a pasted StringSession or an uploaded Telethon .session file."""

from __future__ import annotations

import base64
import html
import sqlite3
import struct
from contextlib import closing

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

from accounts import identity, imports
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


def text_of(response) -> str:
    return html.unescape(response.content.decode())


GOOD_ROW = {"dc_id": 2, "server_address": "127.0.0.1", "port": 9443, "auth_key": KEY}


def hostile_file(tmp_path, *rows: dict, update: tuple | None = None, name: str = "hostile") -> bytes:
    """A .session file as anyone could write it: SQLite keeps whatever type each value is given."""
    path = tmp_path / f"{name}.session"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TABLE sessions (dc_id, server_address, port, auth_key, takeout_id, tmp_auth_key)"
        )
        conn.execute("CREATE TABLE update_state (id, pts, qts, date, seq)")
        for row in rows:
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, NULL, NULL)",
                (row["dc_id"], row["server_address"], row["port"], row["auth_key"]),
            )
        if update is not None:
            conn.execute("INSERT INTO update_state VALUES (0, ?, ?, ?, ?)", update)
        conn.commit()
    return path.read_bytes()


NO_KEY = "The session holds no valid auth key"
HOSTILE_ROWS = [
    ("auth_key", 5, NO_KEY),  # an integer must never become a (zero) key
    ("auth_key", None, NO_KEY),
    ("auth_key", b"\x01" * 16, NO_KEY),
    ("auth_key", bytes(256), NO_KEY),
    ("auth_key", "k" * 256, NO_KEY),
    ("dc_id", "two", "The session's data centre id is not valid"),
    ("dc_id", 99, "The session's data centre id is not valid"),
    ("port", 0, "The session's port is not valid"),
    ("port", 70000, "The session's port is not valid"),
    ("port", "9443", "The session's port is not valid"),
    ("server_address", "evil.example.com", "The session's server address is not an IP address"),
    ("server_address", 2130706433, "The session's server address is not an IP address"),
]


@pytest.mark.parametrize(("field", "value", "error"), HOSTILE_ROWS)
def test_a_hostile_session_file_row_is_refused_in_plain_words_and_nothing_is_stored(
    admin_client, api_app, tmp_path, field, value, error
):
    upload = SimpleUploadedFile("hostile.session", hostile_file(tmp_path, {**GOOD_ROW, field: value}))
    response = post(admin_client, api_app=api_app.pk, session_file=upload)
    assert response.status_code == 200
    assert error in text_of(response)
    assert not Account.objects.exists() and not TelegramSession.objects.exists()


def test_a_session_file_with_two_sessions_or_a_broken_update_state_is_refused(
    admin_client, api_app, tmp_path
):
    other = {**GOOD_ROW, "dc_id": 4, "auth_key": bytes(reversed(KEY))}
    upload = SimpleUploadedFile("two.session", hostile_file(tmp_path, GOOD_ROW, other))
    assert "The .session file must hold exactly one session" in text_of(
        post(admin_client, api_app=api_app.pk, session_file=upload)
    )
    upload = SimpleUploadedFile(
        "state.session", hostile_file(tmp_path, GOOD_ROW, update=("x", 1, 2, -3), name="state")
    )
    assert "The .session file's update state is not valid" in text_of(
        post(admin_client, api_app=api_app.pk, session_file=upload)
    )
    assert not Account.objects.exists()


def test_the_command_line_refuses_a_hostile_session_file_in_the_same_words(api_app, tmp_path):
    path = tmp_path / "cli.session"
    path.write_bytes(hostile_file(tmp_path, {**GOOD_ROW, "auth_key": 7}))
    with pytest.raises(CommandError, match=NO_KEY):
        call_command("account", "import", "--file", str(path), "--api-id", str(api_app.api_id))
    assert not Account.objects.exists()


def string_session(**fields) -> str:
    """Telethon's StringSession layout, with any values: ">B4sH256s", urlsafe base64, prefixed "1"."""
    row = {"dc_id": 2, "ip": bytes([127, 0, 0, 1]), "port": 9443, "key": KEY, **fields}
    raw = struct.pack(">B4sH256s", row["dc_id"], row["ip"], row["port"], row["key"])
    return "1" + base64.urlsafe_b64encode(raw).decode()


GARBAGE_STRINGS = [
    ("1" + "A" * 40, "That is not a Telethon session string"),
    ("1" + "é" * 352, "That is not a Telethon session string"),
    (string_session()[:-12], "That is not a Telethon session string"),
    ("2" + string_session()[1:], "That is not a Telethon session string"),
    (string_session(key=bytes(256)), NO_KEY),
    (string_session(dc_id=0), "The session's data centre id is not valid"),
    (string_session(port=0), "The session's port is not valid"),
    ("1" + "A" * 5000, "Ensure this value has at most 1000 characters"),
]


@pytest.mark.parametrize(("text", "error"), GARBAGE_STRINGS)
def test_a_garbled_string_session_gets_a_plain_error_and_is_never_echoed(admin_client, api_app, text, error):
    response = post(admin_client, api_app=api_app.pk, string_session=text)
    html = text_of(response)
    assert response.status_code == 200
    assert error in html and text not in html
    assert not Account.objects.exists()


def test_a_session_file_over_the_size_limit_is_refused_before_it_is_read(
    admin_client, api_app, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports, "SESSION_FILE_MAX_BYTES", 4096)
    upload = SimpleUploadedFile("big.session", session_file(tmp_path) + b"\0" * 8192)
    html = post(admin_client, api_app=api_app.pk, session_file=upload).content.decode()
    assert "The .session file is larger than 4.0" in html
    assert not Account.objects.exists()


def test_an_import_racing_another_of_the_same_key_is_refused_by_the_database(api_app, monkeypatch):
    string = StringSession()
    string.set_dc(2, "127.0.0.1", 9443)
    string.auth_key = AuthKey(KEY)
    first = imports.account_import(state=imports.session_from_string(string.save()).state, api_app=api_app)
    # As if the second import had checked just before the first one committed.
    real, checks = identity.import_refusal, []

    def raced(**kwargs) -> str:
        checks.append(kwargs)
        return "" if len(checks) == 1 else real(**kwargs)

    monkeypatch.setattr(identity, "import_refusal", raced)
    with pytest.raises(imports.ImportError_, match=f"already in the fleet as account #{first.pk}"):
        imports.account_import(state=imports.session_from_string(string.save()).state, api_app=api_app)
    assert Account.objects.count() == 1
