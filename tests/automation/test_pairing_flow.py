"""Pairing end to end: tgsim personas write to an account hosted by a real session host, a real worker
judges, and an admin decides by replying in the admin chat (Telegram) or in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from automation import pairing
from automation.models import (
    APPROVED_TEXT,
    DEFAULT_PAIRING_TEXT,
    DENIED_TEXT,
    QUEUE_FULL_TEXT,
    AllowedSender,
    AutomationSettings,
    PairingRequest,
)
from tests.support.automation import judgement_of, texts_from
from tests.support.inbox import Persona, agent
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def connected(account, me):
    return Account.objects.filter(pk=account.pk, telegram_id=me).exists()


def judged(account, text, *, timeout=30):
    return wait_for(lambda: judgement_of(account, text), timeout=timeout, what=f"the judgement of {text!r}")


def announcement(tgsim, admin, me, request):
    found = [
        m for m in tgsim.world_call("messages_between", admin.user_id, me) if f"#{request.pk}:" in m["text"]
    ]
    return found[0] if found else None


@pytest.fixture
def people(tgsim, api_app):
    account, me, address = agent(tgsim, api_app)
    admin = Persona(tgsim, first_name="Admin")
    stranger = Persona(tgsim, first_name="Sam")
    AutomationSettings.objects.create(account=account, admin_chat=f"@{admin.username.upper()}")
    yield account, me, address, admin, stranger
    admin.close()
    stranger.close()


def test_a_stranger_is_paired_once_and_approved_by_a_reply_in_the_admin_chat(tgsim, stack, people):
    account, me, address, admin, stranger = people
    with stack():
        wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
        stranger.send(address, "Hi, is the room free?")
        assert judged(account, "Hi, is the room free?").reason == "pairing requested"
        request = PairingRequest.objects.get(account=account)
        assert (request.status, request.sender_id, request.first_text) == (
            "pending",
            stranger.user_id,
            "Hi, is the room free?",
        )
        assert request.username == stranger.username
        wait_for(
            lambda: texts_from(tgsim, stranger.user_id, me) == [DEFAULT_PAIRING_TEXT],
            timeout=20,
            what="the pairing text",
        )

        stranger.send(address, "hello??")
        stranger.send(address, "anyone?")
        assert judged(account, "anyone?").reason == "pairing pending"
        assert judgement_of(account, "hello??").reason == "pairing pending"
        assert PairingRequest.objects.filter(account=account).count() == 1

        posted = wait_for(
            lambda: announcement(tgsim, admin, me, request), timeout=20, what="the announcement"
        )
        assert "Hi, is the room free?" in posted["text"] and "Reply approve or deny" in posted["text"]
        assert f"@{stranger.username}" in posted["text"]
        # The requester answering "yes" in their own chat decides nothing.
        stranger.tgsim.run(stranger.client.send_message(address, "yes", reply_to=1))
        assert judged(account, "yes").reason == "pairing pending"
        admin.tgsim.run(admin.client.send_message(address, "  Approve ", reply_to=posted["id"]))
        wait_for(
            lambda: PairingRequest.objects.get(pk=request.pk).status == "approved",
            timeout=20,
            what="approval",
        )
        assert judged(account, "  Approve ".strip()).reason == "pairing decision"
        wait_for(
            lambda: texts_from(tgsim, stranger.user_id, me) == [DEFAULT_PAIRING_TEXT, APPROVED_TEXT],
            timeout=20,
            what="the requester's confirmation",
        )
        wait_for(
            lambda: f"Approved @{stranger.username}" in texts_from(tgsim, admin.user_id, me),
            timeout=20,
            what="the admin chat's confirmation",
        )
        assert AllowedSender.objects.filter(
            account=account, user_id=stranger.user_id, source="paired"
        ).exists()

        stranger.send(address, "Great, when can I visit?")
        verdict = judged(account, "Great, when can I visit?")
        assert verdict.admitted and verdict.reason == "allowed"
    request.refresh_from_db()
    assert request.decided_in_chat_by and request.decided_by is None
    # One pairing text, one confirmation: repeated messages got no second reply.
    assert texts_from(tgsim, stranger.user_id, me) == [DEFAULT_PAIRING_TEXT, APPROVED_TEXT]


def test_deny_from_the_admin_chat_tells_both_sides_and_admits_nothing(tgsim, stack, people):
    account, me, address, admin, stranger = people
    with stack():
        wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
        stranger.send(address, "let me in")
        judged(account, "let me in")
        request = PairingRequest.objects.get(account=account)
        posted = wait_for(
            lambda: announcement(tgsim, admin, me, request), timeout=20, what="the announcement"
        )
        admin.tgsim.run(admin.client.send_message(address, "maybe", reply_to=posted["id"]))
        assert judged(account, "maybe").reason != "pairing decision"  # not a decision word
        admin.tgsim.run(admin.client.send_message(address, "REJECT", reply_to=posted["id"]))
        wait_for(
            lambda: PairingRequest.objects.get(pk=request.pk).status == "denied", timeout=20, what="denial"
        )
        wait_for(
            lambda: DENIED_TEXT in texts_from(tgsim, stranger.user_id, me), timeout=20, what="the denial"
        )
        wait_for(
            lambda: f"Denied @{stranger.username}" in texts_from(tgsim, admin.user_id, me),
            timeout=20,
            what="echo",
        )
        stranger.send(address, "please?")
        verdict = judged(account, "please?")
        assert not verdict.admitted and verdict.reason == "pairing denied recently"
    assert PairingRequest.objects.filter(account=account).count() == 1
    assert not AllowedSender.objects.filter(account=account).exists()


def test_a_full_queue_answers_once_and_creates_nothing(tgsim, stack, people):
    account, me, address, _admin, stranger = people
    AutomationSettings.objects.filter(account=account).update(pending_cap=1, admin_chat="")
    other = Persona(tgsim, first_name="Olga")
    try:
        with stack():
            wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
            other.send(address, "first in line")
            assert judged(account, "first in line").reason == "pairing requested"
            stranger.send(address, "me too")
            stranger.send(address, "me too, again")
            assert judged(account, "me too, again").reason == "pairing queue full"
            assert judgement_of(account, "me too").reason == "pairing queue full"
            wait_for(
                lambda: texts_from(tgsim, stranger.user_id, me) == [QUEUE_FULL_TEXT], timeout=20, what="full"
            )
        assert list(PairingRequest.objects.filter(account=account).values_list("sender_id", flat=True)) == [
            other.user_id
        ]
        assert texts_from(tgsim, stranger.user_id, me) == [QUEUE_FULL_TEXT]  # once, not per message
    finally:
        other.close()


def test_an_expired_request_gives_way_to_a_new_one(tgsim, stack, people):
    account, me, address, _admin, stranger = people
    with stack():
        wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
        stranger.send(address, "hello")
        judged(account, "hello")
        PairingRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert pairing.pairing_expire() == 1  # what the beat task runs every minute
        stranger.send(address, "hello again")
        assert judged(account, "hello again").reason == "pairing requested"
        wait_for(
            lambda: texts_from(tgsim, stranger.user_id, me) == [DEFAULT_PAIRING_TEXT] * 2,
            timeout=20,
            what="texts",
        )
    assert sorted(PairingRequest.objects.values_list("status", flat=True)) == ["expired", "pending"]


def test_a_request_survives_restarts_and_messages_that_arrive_while_the_worker_is_down(tgsim, stack, people):
    account, me, address, admin, stranger = people
    with stack("a", worker=False):
        wait_for(lambda: connected(account, me), timeout=30, what="the host to connect the account")
        stranger.send(address, "written while no worker runs")
        wait_for(lambda: _stored(account), timeout=15, what="the message stored")
        assert judgement_of(account, "written while no worker runs") is None
    assert not PairingRequest.objects.exists()
    with stack("b"):  # a new host and a worker: the queued judging task runs now
        request = wait_for(
            lambda: PairingRequest.objects.filter(account=account).first(), timeout=30, what="request"
        )
        posted = wait_for(
            lambda: announcement(tgsim, admin, me, request), timeout=20, what="the announcement"
        )
    # Everything down; then the admin answers, and a fresh host and worker decide it.
    admin.tgsim.run(admin.client.send_message(address, "y", reply_to=posted["id"]))
    with stack("c"):
        wait_for(
            lambda: PairingRequest.objects.get(pk=request.pk).status == "approved",
            timeout=40,
            what="approval",
        )
        wait_for(
            lambda: APPROVED_TEXT in texts_from(tgsim, stranger.user_id, me), timeout=20, what="confirmation"
        )
    assert PairingRequest.objects.count() == 1
    assert texts_from(tgsim, stranger.user_id, me).count(DEFAULT_PAIRING_TEXT) == 1


def _stored(account):
    from inbox.models import Message

    return Message.objects.filter(conversation__account=account, text="written while no worker runs").exists()
