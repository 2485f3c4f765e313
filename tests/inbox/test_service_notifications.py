from __future__ import annotations

import secrets

import pytest
from django.urls import reverse

from accounts import imports
from accounts.models import AccountEvent
from accounts.telegram.records import SERVICE_USER_ID
from inbox.models import Contact, Conversation, Message
from tests.support.accounts import log_in
from tests.support.inbox import Persona, unique
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _account_with_a_real_code(tgsim, api_app):
    """An active account on an ordinary number: its login codes are random, unlike test numbers' 22222."""
    phone = f"4479{secrets.randbelow(10**7):07d}"
    username = unique("fleet")
    tgsim.world_call("create_user", phone=phone, first_name="Fleet", username=username)

    state = tgsim.run(log_in(tgsim, phone=phone, code_of=tgsim.world.login_code))
    return imports.account_import(state=state, api_app=api_app, phone=phone), f"@{username}"


def _request_login_code(tgsim, phone: str) -> str:
    """Someone (another device) asks Telegram for a login code for the phone; returns the code."""
    client = tgsim.client()

    async def ask() -> None:
        await client.connect()
        try:
            await client.send_code_request(phone)
        finally:
            await client.disconnect()

    tgsim.run(ask())
    return tgsim.world_call("login_code", phone)


def test_login_codes_from_telegram_never_reach_operators_and_admins_see_them_masked(
    tgsim, host_env, api_app, operator, admin_user, client, tmp_path
):
    account, address = _account_with_a_real_code(tgsim, api_app)
    account.operators.add(operator)
    alice = Persona(tgsim, first_name="Alice")
    try:
        with session_host("a", log_path=tmp_path / "host.log", env=host_env):
            wait_for(
                lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=60, what="backfill"
            )
            code = _request_login_code(tgsim, account.phone)
            alice.send(address, "Is the flat still available?")
            wait_for(
                lambda: account.events.filter(kind=AccountEvent.Kind.SERVICE_NOTIFICATION).exists(),
                timeout=30,
                what="the login code notification",
            )
            wait_for(
                lambda: Message.objects.filter(
                    conversation__account=account, text__startswith="Is the"
                ).exists(),
                timeout=30,
                what="Alice's message",
            )
    finally:
        alice.close()

    assert len(code) == 5 and code.isdigit()
    assert not Conversation.objects.filter(peer_id=SERVICE_USER_ID).exists()
    assert not Contact.objects.filter(telegram_id=SERVICE_USER_ID).exists()
    assert not Message.objects.filter(text__contains="Login code").exists()
    notice = account.events.get(kind=AccountEvent.Kind.SERVICE_NOTIFICATION)
    assert notice.detail["text"].startswith("Login code: •••••. Do not give this code to anyone")
    assert code not in str(notice.detail) and code not in notice.reason

    client.force_login(operator)
    conversation = Conversation.objects.get(account=account, peer_id=alice.user_id)
    pages = [
        client.get(reverse("inbox:index")),
        client.get(reverse("inbox:index"), {"q": "code"}),
        client.get(reverse("inbox:conversation", args=[conversation.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert code not in html and "Login code" not in html

    client.force_login(admin_user)
    page = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "Login code: •••••. Do not give this code to anyone" in page
    assert code not in page
