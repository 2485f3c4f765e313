"""The automation console: admins only; every form refuses bad input with a plain message and saves
nothing; approve and deny from the console do what an admin-chat reply does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from automation.models import (
    APPROVED_TEXT,
    DEFAULT_PAIRING_TEXT,
    AllowedSender,
    AutomationSettings,
    PairingRequest,
)
from inbox.models import Conversation, Message

pytestmark = pytest.mark.django_db

VALID = {
    "dm_policy": "allowlist",
    "group_policy": "both",
    "pairing_text": "An admin will get back to you.",
    "admin_chat": "https://t.me/Team_Lead",
    "pending_cap": "5",
    "expiry_minutes": "30",
}


@pytest.fixture
def account(make_account) -> Account:
    return make_account(status=Account.Status.ACTIVE)


@pytest.fixture
def request_row(account) -> PairingRequest:
    conversation = Conversation.objects.create(account=account, peer_id=4242, kind="private", title="Sam")
    return PairingRequest.objects.create(
        account=account,
        sender_id=4242,
        username="sam_the_tenant",
        conversation=conversation,
        first_text="<script>alert(1)</script> is the room free?",
        expires_at=timezone.now() + timedelta(hours=1),
    )


def page(client, account):
    return client.get(reverse("automation:account", args=[account.pk]))


def test_the_account_page_shows_defaults_and_requests_and_is_reachable_from_the_account(
    admin_client, account, request_row
):
    response = page(admin_client, account)
    body = response.content.decode()
    assert response.status_code == 200
    assert DEFAULT_PAIRING_TEXT in body and "@sam_the_tenant" in body
    assert "<script>alert(1)</script>" not in body  # escaped
    assert (
        reverse("automation:account", args=[account.pk])
        in admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    )
    # Looking is not setting up: automation stays off (and says so) until the policies are saved.
    assert not AutomationSettings.objects.filter(account=account).exists()
    assert 'id="automation-off"' in body
    admin_client.post(reverse("automation:settings", args=[account.pk]), VALID)
    assert AutomationSettings.objects.filter(account=account).exists()
    assert 'id="automation-off"' not in page(admin_client, account).content.decode()


def test_operators_and_outsiders_are_refused(operator_client, account, request_row):
    assert page(operator_client, account).status_code == 403
    assert operator_client.get(reverse("automation:requests")).status_code == 403
    decide = reverse("automation:decide", args=[request_row.pk, "approve"])
    assert operator_client.post(decide).status_code == 403
    assert PairingRequest.objects.get(pk=request_row.pk).status == "pending"


def test_saving_the_settings_normalises_the_admin_chat(admin_client, account):
    response = admin_client.post(reverse("automation:settings", args=[account.pk]), VALID)
    assert response.status_code == 302
    saved = AutomationSettings.objects.get(account=account)
    assert (saved.dm_policy, saved.group_policy, saved.admin_chat) == ("allowlist", "both", "@Team_Lead")
    assert (saved.pending_cap, saved.expiry_minutes) == (5, 30)
    admin_client.post(
        reverse("automation:settings", args=[account.pk]), {**VALID, "admin_chat": " -1001234 "}
    )
    assert AutomationSettings.objects.get(account=account).admin_chat == "-1001234"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("pairing_text", "hello\x00there", "Null characters are not allowed"),
        ("pairing_text", "x" * 5000, "at most 4096 characters"),
        ("pairing_text", "   ", "This field is required"),
        ("pending_cap", "-1", "greater than or equal to 1"),
        ("pending_cap", "0", "greater than or equal to 1"),
        ("pending_cap", "9" * 40, "Enter a whole number"),
        ("pending_cap", "٣", "Enter a whole number"),
        ("expiry_minutes", "99999999", "less than or equal to 10080"),
        ("dm_policy", "everyone", "Select a valid choice"),
        ("group_policy", "", "This field is required"),
        ("admin_chat", "@ab", "Give the admin chat as @username"),
        ("admin_chat", "a" * 5000, "at most 64 characters"),
        ("admin_chat", "javascript:alert(1)", "Give the admin chat as @username"),
        ("admin_chat", "9" * 25, "Give the admin chat as @username"),
        ("admin_chat", "0", "Give the admin chat as @username"),
        ("admin_chat", "@bob\x00", "Null characters are not allowed"),
    ],
)
def test_bad_settings_are_refused_with_a_plain_message_and_nothing_saved(
    admin_client, account, field, value, error
):
    response = admin_client.post(reverse("automation:settings", args=[account.pk]), {**VALID, field: value})
    assert response.status_code == 200
    assert error in response.content.decode()
    saved = AutomationSettings.objects.get(account=account)
    assert (saved.dm_policy, saved.pairing_text) == ("pairing", DEFAULT_PAIRING_TEXT)


def test_the_allowlist_takes_ids_and_usernames_and_refuses_duplicates_in_any_case(admin_client, account):
    url = reverse("automation:allow", args=[account.pk])
    assert admin_client.post(url, {"entry": "@Friend_One"}).status_code == 302
    assert admin_client.post(url, {"entry": " 123456789 "}).status_code == 302
    again = admin_client.post(url, {"entry": "friend_one"})
    assert "@friend_one is already on the allowlist" in again.content.decode()
    assert sorted(AllowedSender.objects.values_list("username", "user_id")) == [
        ("", 123456789),
        ("Friend_One", None),
    ]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("u" * 5000, "at most 64 characters"),
        ("bob\x00", "Null characters are not allowed"),
        ("-5", "Give a Telegram user id"),
        ("9" * 20, "Give a Telegram user id"),
        ("@a", "Give a Telegram user id"),
        ("@bad name", "Give a Telegram user id"),
        ("", "This field is required"),
    ],
)
def test_bad_allowlist_entries_are_refused(admin_client, account, entry, error):
    response = admin_client.post(reverse("automation:allow", args=[account.pk]), {"entry": entry})
    assert error in response.content.decode()
    assert not AllowedSender.objects.exists()


def test_removing_an_entry_of_another_account_is_404(admin_client, account, make_account):
    other = make_account()
    entry = AllowedSender.objects.create(account=other, user_id=5)
    response = admin_client.post(reverse("automation:disallow", args=[account.pk, entry.pk]))
    assert response.status_code == 404 and AllowedSender.objects.filter(pk=entry.pk).exists()
    admin_client.post(reverse("automation:disallow", args=[other.pk, entry.pk]))
    assert not AllowedSender.objects.filter(pk=entry.pk).exists()


def test_approving_in_the_console_remembers_the_sender_and_tells_them(admin_client, account, request_row):
    response = admin_client.post(
        reverse("automation:decide", args=[request_row.pk, "approve"]), {"from": "requests"}
    )
    assert response.status_code == 302
    request_row.refresh_from_db()
    assert request_row.status == "approved" and request_row.decided_by.username == "ada"
    assert AllowedSender.objects.filter(account=account, user_id=4242, source="paired").exists()
    reply = Message.objects.get(conversation=request_row.conversation, automation="pairing")
    assert reply.text == APPROVED_TEXT and reply.delivery == "pending"
    listed = admin_client.get(reverse("automation:requests")).content.decode()
    assert "ada (console)" in listed


def test_deciding_twice_explains_itself(admin_client, account, request_row):
    url = reverse("automation:decide", args=[request_row.pk, "deny"])
    admin_client.post(url)
    response = admin_client.post(url, HTTP_HX_REQUEST="true")
    assert "This request is denied already" in response.content.decode()
    assert admin_client.post(reverse("automation:decide", args=[request_row.pk, "maybe"])).status_code == 404
    assert admin_client.post(reverse("automation:decide", args=[10**9, "deny"])).status_code == 404


def test_a_failed_post_to_the_admin_chat_shows_why(admin_client, account, request_row):
    from accounts.models import Operation

    operation = Operation.objects.create(
        id="00000000-0000-4000-8000-000000000001", account=account, command="messages.send",
        state="failed", reason="No user has \"boss_gone\" as username",
    )  # fmt: skip
    PairingRequest.objects.filter(pk=request_row.pk).update(announce_operation=operation.pk)
    body = page(admin_client, account).content.decode()
    assert "posting failed: No user has &quot;boss_gone&quot; as username" in body


def test_the_fleet_list_shows_every_accounts_pending_requests(admin_client, request_row, make_account):
    other = make_account(status=Account.Status.ACTIVE)
    PairingRequest.objects.create(
        account=other, sender_id=7, name="Olga", expires_at=timezone.now() + timedelta(minutes=5)
    )
    body = admin_client.get(reverse("automation:requests")).content.decode()
    assert "@sam_the_tenant" in body and "Olga" in body
    partial = admin_client.get(reverse("automation:requests"), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="requests">')
