"""The API pages of the console: keys listed, created (the token shown once), revoked; the audit log
filtered and paged. Admins only; every bad input gets a plain error."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Account
from api.keys import key_for
from api.models import SCOPES, ApiKey, AuditEntry

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"sb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
PAGES = ["apikeys:index", "apikeys:new", "apikeys:audit"]


@pytest.fixture
def key(make_key, make_account):
    return make_key([make_account(status=Account.Status.ACTIVE)], name="zapier")[0]


def create(client, **fields):
    return client.post(reverse("apikeys:new"), fields)


def audit(key: ApiKey, tool: str, *, status: int = 200) -> AuditEntry:
    return AuditEntry.objects.create(key=key, key_name=key.name, door="rest", tool=tool, status=status)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_for_an_admin_and_refuses_an_operator(admin_client, operator, client, name):
    assert admin_client.get(reverse(name)).status_code == 200
    client.force_login(operator)
    assert client.get(reverse(name)).status_code == 403


def test_visitors_are_sent_to_log_in_and_operators_cannot_create_or_revoke(client, operator, key):
    for url in (reverse("apikeys:index"), reverse("apikeys:revoke", args=[key.pk])):
        assert client.get(url).url.startswith(reverse("login"))
    client.force_login(operator)
    assert create(client, name="x", scopes=["fleet:read"], accounts=[1]).status_code == 403
    assert client.post(reverse("apikeys:revoke", args=[key.pk])).status_code == 403
    assert ApiKey.objects.get(pk=key.pk).active and ApiKey.objects.count() == 1


def test_the_nav_links_the_api_pages_for_admins_only(admin_client, operator, client):
    assert reverse("apikeys:index") in admin_client.get(reverse("accounts:index")).content.decode()
    client.force_login(operator)
    assert reverse("apikeys:index") not in client.get(reverse("inbox:index")).content.decode()


def test_the_list_shows_each_key_s_prefix_scopes_accounts_and_state_but_no_secret(admin_client, key):
    page = admin_client.get(reverse("apikeys:index")).content.decode()
    account = key.accounts.get()
    assert "zapier" in page and f"sb_{key.prefix}_…" in page and account.display_name in page
    assert all(scope in page for scope in SCOPES) and "ada" in page and "never" in page
    assert not TOKEN.search(page)


def test_a_new_key_shows_its_token_once_and_the_token_opens_the_api(admin_client, make_account):
    account = make_account(status=Account.Status.ACTIVE)
    answer = create(
        admin_client, name="  crm sync ", scopes=["fleet:read", "messages:read"], accounts=[account.pk]
    )
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    page = answer.content.decode()
    token = TOKEN.search(page).group()
    assert "shown only this once" in page and 'data-copy="#new-token"' in page
    key = ApiKey.objects.get()
    assert (
        key.name == "crm sync"
        and key.scopes == ["fleet:read", "messages:read"]
        and key.created_by.username == "ada"
    )
    assert list(key.accounts.all()) == [account] and key_for(token) == key
    assert token.split("_")[2] not in repr(list(ApiKey.objects.values()))  # only its hash is kept
    for name in PAGES:
        assert not TOKEN.search(admin_client.get(reverse(name)).content.decode()), name


def test_a_new_key_through_htmx_answers_with_the_fragment(admin_client, make_account):
    account = make_account()
    answer = admin_client.post(
        reverse("apikeys:new"),
        {"name": "agent", "scopes": ["fleet:read"], "accounts": [account.pk]},
        HTTP_HX_REQUEST="true",
    )
    page = answer.content.decode()
    assert page.lstrip().startswith('<section id="key-form"') and 'hx-history="false"' in page
    assert TOKEN.search(page)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "", "scopes": ["fleet:read"]}, "Give the key a name"),
        ({"name": "   ", "scopes": ["fleet:read"]}, "Give the key a name"),
        ({"name": "x" * 101, "scopes": ["fleet:read"]}, "at most 100 characters"),
        ({"name": "a\x00b", "scopes": ["fleet:read"]}, "Null characters are not allowed"),
        ({"name": "bot"}, "Choose at least one scope"),
        ({"name": "bot", "scopes": ["fleet:write"]}, "fleet:write is not a scope"),
        (
            {"name": "bot", "scopes": ["fleet:read"], "accounts": []},
            "Choose the accounts this key may act for",
        ),
        ({"name": "bot", "scopes": ["fleet:read"], "accounts": ["987654"]}, "There is no account 987654"),
        ({"name": "bot", "scopes": ["fleet:read"], "accounts": ["٣"]}, "There is no account ٣"),
        ({"name": "bot", "scopes": ["fleet:read"], "accounts": ["x"]}, "is not an account id"),
        ({"name": "bot", "scopes": ["fleet:read"], "accounts": ["9" * 30]}, "There is no account"),
    ],
)
def test_a_bad_new_key_gets_a_plain_error_and_no_key(admin_client, make_account, fields, error):
    account = make_account()
    fields = {"accounts": [account.pk], **fields}
    answer = create(admin_client, **fields)
    page = answer.content.decode()
    assert answer.status_code == 200 and error in page, page
    assert not ApiKey.objects.exists() and not TOKEN.search(page)


def test_revoking_asks_first_then_the_key_gets_401(admin_client, client, make_account, make_key):
    account = make_account(status=Account.Status.ACTIVE)
    key, token = make_key([account], name="old robot")
    confirm = admin_client.get(reverse("apikeys:revoke", args=[key.pk]))
    assert "Revoke “old robot”?" in confirm.content.decode() and ApiKey.objects.get(pk=key.pk).active
    done = admin_client.post(reverse("apikeys:revoke", args=[key.pk]), follow=True)
    assert "Revoked old robot" in done.content.decode() and "revoked" in done.content.decode()
    assert not ApiKey.objects.get(pk=key.pk).active
    assert client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    again = admin_client.post(reverse("apikeys:revoke", args=[key.pk]), follow=True)
    assert "was revoked already" in again.content.decode()


def test_revoking_an_unknown_key_is_404(admin_client):
    assert admin_client.get(reverse("apikeys:revoke", args=[987654])).status_code == 404
    assert admin_client.post(reverse("apikeys:revoke", args=[987654])).status_code == 404


def test_the_audit_log_lists_the_latest_first_and_filters_by_key_and_tool(
    admin_client, make_key, make_account
):
    account = make_account()
    one, _ = make_key([account], name="first bot")
    two, _ = make_key([account], name="second bot")
    audit(one, "messages_send")
    audit(two, "messages_send", status=429)
    audit(one, "chat_join")
    rows = _rows(admin_client.get(reverse("apikeys:audit")))
    assert rows == [
        ("first bot", "chat_join"),
        ("second bot", "messages_send"),
        ("first bot", "messages_send"),
    ]
    assert _rows(admin_client.get(reverse("apikeys:audit"), {"key": one.pk})) == [
        ("first bot", "chat_join"), ("first bot", "messages_send")
    ]  # fmt: skip
    assert _rows(admin_client.get(reverse("apikeys:audit"), {"key": one.pk, "tool": "messages_send"})) == [
        ("first bot", "messages_send")
    ]
    fragment = admin_client.get(reverse("apikeys:audit"), {"tool": "chat_join"}, HTTP_HX_REQUEST="true")
    assert fragment.content.decode().lstrip().startswith('<section id="audit"')


def test_a_revoked_key_s_writes_stay_in_the_audit_log(admin_client, key):
    from api.keys import key_revoke

    audit(key, "messages_send")
    key_revoke(key_id=key.pk)
    assert _rows(admin_client.get(reverse("apikeys:audit"), {"key": key.pk})) == [("zapier", "messages_send")]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"key": "987654"}, "There is no such key"),
        ({"key": "٣"}, "There is no such key"),
        ({"key": " 1 "}, "There is no such key"),
        ({"key": "9" * 5000}, "There is no such key"),
        ({"tool": "rm_rf"}, "There is no such tool"),
        ({"tool": "\x00"}, "There is no such tool"),
    ],
)
def test_a_bad_audit_filter_gets_a_plain_error_and_no_entries(admin_client, key, query, error):
    audit(key, "messages_send")
    answer = admin_client.get(reverse("apikeys:audit"), query)
    assert answer.status_code == 200 and error in answer.content.decode()
    assert _rows(answer) == []


def test_the_audit_log_pages_and_a_bad_page_is_the_first(admin_client, key):
    AuditEntry.objects.bulk_create(
        AuditEntry(key=key, key_name=key.name, door="mcp", tool="messages_send", status=200)
        for _ in range(51)
    )
    assert len(_rows(admin_client.get(reverse("apikeys:audit")))) == 50
    assert len(_rows(admin_client.get(reverse("apikeys:audit"), {"page": "2"}))) == 1
    for page in ("0", "-1", "٣", "9" * 5000, "1e3", "x"):
        assert len(_rows(admin_client.get(reverse("apikeys:audit"), {"page": page}))) == 50, page


def _rows(answer) -> list[tuple[str, str]]:
    """(key name, tool) of each audit row on the page, top to bottom."""
    cells = re.findall(
        r'<tr id="audit-\d+">\s*<td>.*?</td>\s*<td>(.*?)</td>\s*<td>.*?</td>\s*<td><code>(.*?)</code>',
        answer.content.decode(),
        re.S,
    )
    return [(name, tool) for name, tool in cells]
