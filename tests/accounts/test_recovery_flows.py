"""Every row of ARCHITECTURE's error table, injected in tgsim and recovered by a real session host."""

from __future__ import annotations

import random
import time

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account, AccountEvent, Lease
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def host(host_env, tmp_path):
    with session_host("recovery", log_path=tmp_path / "host.log", env=host_env) as proc:
        yield proc


@pytest.fixture
def connected(host, tgsim, api_app):
    """An active account held and connected by the host, and a user it can message by username."""
    account, me = ready_account(tgsim, api_app)
    peer = tgsim.world_call("create_user", phone=new_phone(), first_name="Peer", username=f"p{me}")
    wait_for(
        lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
        timeout=30,
        what="the host to connect the account",
    )
    return account, me, peer


def send(account, me, text="hi"):
    return commands.send.queue(account, peer=f"@p{me}", text=text, random_id=random.getrandbits(63))


def result_of(task_id, timeout=60):
    return AsyncResult(task_id).get(timeout=timeout)


def delivered(tgsim, me, peer, text) -> int:
    return [m["text"] for m in tgsim.world_call("messages_between", me, peer)].count(text)


def lease_holder(account) -> str:
    return Lease.objects.get(pk=account.pk).holder


def statuses(account) -> list[str]:
    return list(
        AccountEvent.objects.filter(account=account, kind="status").values_list("to_status", flat=True)
    )


def test_a_short_flood_wait_is_slept_through_in_place(tgsim, connected):
    account, me, peer = connected
    tgsim.fault("inject", "FLOOD_WAIT_2", user_id=me, method="messages.sendMessage")
    started = time.monotonic()
    assert result_of(send(account, me, "after a short wait"))["ok"]
    assert time.monotonic() - started >= 2
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert delivered(tgsim, me, peer, "after a short wait") == 1


def test_short_flood_waits_past_the_clients_retries_cool_down_instead_of_failing(tgsim, connected):
    # Three tries each slept through in place; the third wait comes back as Telegram's FLOOD_WAIT (not a
    # bare "request was unsuccessful"), so the command waits it out and runs again.
    account, me, peer = connected
    tgsim.fault("inject", "FLOOD_WAIT_1", user_id=me, method="messages.sendMessage", count=4)
    assert result_of(send(account, me, "after many short waits"), timeout=90)["ok"]
    assert delivered(tgsim, me, peer, "after many short waits") == 1


def test_telegrams_internal_errors_send_the_command_back_to_its_queue(tgsim, connected):
    account, me, peer = connected
    tgsim.fault("inject", "RPC_CALL_FAIL", code=500, user_id=me, method="messages.sendMessage", count=4)
    assert result_of(send(account, me, "after Telegram's trouble"), timeout=90)["ok"]
    assert delivered(tgsim, me, peer, "after Telegram's trouble") == 1


def test_a_long_flood_wait_cools_the_account_down_and_reschedules_the_command(tgsim, connected, api_app):
    account, me, peer = connected
    tgsim.fault("inject", "FLOOD_WAIT_5", user_id=me, method="messages.sendMessage")
    task_id = send(account, me, "after the cooldown")
    wait_for(
        lambda: Account.objects.get(pk=account.pk).status == Account.Status.COOLDOWN,
        timeout=30,
        what="the cooldown",
    )
    cooling = Account.objects.get(pk=account.pk)
    assert cooling.cooldown_until is not None
    assert lease_holder(account)  # the lease is kept while cooling down
    result = result_of(task_id)
    assert result["ok"]
    assert delivered(tgsim, me, peer, "after the cooldown") == 1
    wait_for(
        lambda: Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE,
        timeout=20,
        what="the end of the cooldown",
    )
    assert statuses(account)[:2] == [Account.Status.ACTIVE, Account.Status.COOLDOWN]


def test_other_accounts_keep_going_during_a_cooldown(tgsim, connected, api_app):
    account, me, _ = connected
    other, other_me = ready_account(tgsim, api_app, first_name="Other")
    tgsim.world_call("create_user", phone=new_phone(), first_name="Peer2", username=f"p{other_me}")
    wait_for(
        lambda: Account.objects.filter(pk=other.pk, telegram_id=other_me).exists(),
        timeout=30,
        what="the second account to connect",
    )
    tgsim.fault("inject", "FLOOD_WAIT_8", user_id=me, method="messages.sendMessage")
    held = send(account, me, "held back")
    wait_for(
        lambda: Account.objects.get(pk=account.pk).status == Account.Status.COOLDOWN,
        timeout=30,
        what="the cooldown",
    )
    assert result_of(send(other, other_me, "not held back"), timeout=10)["ok"]
    assert Account.objects.get(pk=account.pk).status == Account.Status.COOLDOWN
    assert result_of(held)["ok"]


def test_slow_mode_retries_that_command_after_the_wait(tgsim, connected):
    account, me, peer = connected
    tgsim.fault("inject", "SLOWMODE_WAIT_2", user_id=me, method="messages.sendMessage")
    started = time.monotonic()
    assert result_of(send(account, me, "slowly"))["ok"]
    assert time.monotonic() - started >= 2
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE
    assert delivered(tgsim, me, peer, "slowly") == 1


def test_peer_flood_pauses_outreach_but_keeps_the_account_connected(tgsim, connected):
    account, me, peer = connected
    tgsim.fault("inject", "PEER_FLOOD", user_id=me, method="messages.sendMessage")
    result = result_of(send(account, me, "spammy"))
    assert result == {
        "ok": False,
        "error": "Telegram limited this account for spam (PEER_FLOOD)",
        "status": "spam_limited",
    }
    account.refresh_from_db()
    assert account.status == Account.Status.SPAM_LIMITED
    assert account.outreach_paused_until is not None
    assert lease_holder(account)
    assert result_of(send(account, me, "an inbox reply still goes"))["ok"]
    assert delivered(tgsim, me, peer, "spammy") == 0


@pytest.mark.parametrize(
    ("fault", "status", "reason"),
    [
        (("forget_key",), Account.Status.REAUTH_REQUIRED, "AUTH_KEY_UNREGISTERED"),
        (("revoke_sessions",), Account.Status.REAUTH_REQUIRED, "SESSION_REVOKED"),
        (("inject", "AUTH_KEY_DUPLICATED"), Account.Status.REAUTH_REQUIRED, "AUTH_KEY_DUPLICATED"),
        (("ban",), Account.Status.BANNED, "USER_DEACTIVATED_BAN"),
    ],
    ids=["auth-key-unregistered", "session-revoked", "auth-key-duplicated", "banned"],
)
def test_account_level_errors_change_the_status_release_the_lease_and_fail_the_command(
    tgsim, connected, fault, status, reason
):
    account, me, peer = connected
    name, *args = fault
    if name == "inject":
        tgsim.fault("inject", *args, user_id=me, count=100)
    else:
        tgsim.fault(name, me)
    result = result_of(send(account, me, "never delivered"))
    wait_for(lambda: Account.objects.get(pk=account.pk).status == status, timeout=30, what=f"status {status}")
    account.refresh_from_db()
    assert reason in account.status_reason
    assert result["ok"] is False
    event = AccountEvent.objects.filter(account=account, kind="status", to_status=status).first()
    assert event is not None and reason in event.reason
    wait_for(lambda: lease_holder(account) == "", timeout=10, what="the lease to be released")
    assert delivered(tgsim, me, peer, "never delivered") == 0


def test_a_dropped_connection_reconnects_and_keeps_the_lease(tgsim, connected):
    account, me, peer = connected
    token = Lease.objects.get(pk=account.pk).token
    assert tgsim.fault("drop_connections", me) >= 1
    assert result_of(send(account, me, "after the reconnect"))["ok"]
    assert Lease.objects.get(pk=account.pk).token == token
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE
    assert delivered(tgsim, me, peer, "after the reconnect") == 1


def test_a_command_in_flight_when_the_connection_drops_goes_back_to_its_queue_and_is_sent_once(
    tgsim, connected
):
    # Telethon hands a request in flight the error that cut its connection: here the stream ends
    # mid-frame (asyncio's IncompleteReadError, an EOFError, not a ConnectionError). The command is not
    # failed as "something went wrong": it runs again once reconnected, with the same random_id.
    account, me, peer = connected
    tgsim.fault("latency", 6)
    try:
        task_id = send(account, me, "across the drop")
        time.sleep(2.5)  # the host has sent it; tgsim answers 6 s after it came
        assert tgsim.fault("drop_connections", me) >= 1
    finally:
        tgsim.fault("latency", 0)
    result = result_of(task_id, timeout=90)
    assert result["ok"], result
    assert delivered(tgsim, me, peer, "across the drop") == 1
