from __future__ import annotations

import random

import pytest
from celery.result import AsyncResult

from accounts import commands
from accounts.models import Account
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_command(account, declared, **kwargs):
    return AsyncResult(declared.queue(account, **kwargs)).get(timeout=60)


def test_an_imported_session_is_validated_and_sends_exactly_once_per_random_id(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Importer")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Friend", username=f"friend{me}")
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=30,
            what="the host to validate the imported session",
        )
        random_id = random.getrandbits(63)
        first = run_command(
            account, commands.send, peer=f"@friend{me}", text="hello once", random_id=random_id
        )
        again = run_command(
            account, commands.send, peer=f"@friend{me}", text="hello once", random_id=random_id
        )
    assert first["ok"] and again["ok"]
    assert first["message_id"] == again["message_id"]
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("hello once") == 1


def test_an_account_joins_syncs_and_leaves_a_group_and_refreshes_its_profile(
    tgsim, host_env, api_app, tmp_path
):
    account, me = ready_account(tgsim, api_app, first_name="Joiner")
    owner = tgsim.world_call("create_user", phone=new_phone(), first_name="Owner")
    group = tgsim.world_call(
        "create_group", title=f"Open house {me}", owner_id=owner, members=[], username=f"openhouse{me}"
    )
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        wait_for(
            lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
            timeout=30,
            what="the host to connect the account",
        )
        tgsim.world_call("set_user", me, username=f"joiner{me}")
        profile = run_command(account, commands.refresh_profile)
        joined = run_command(account, commands.join, target=f"https://t.me/openhouse{me}")
        dialogs = run_command(account, commands.sync_dialogs, limit=20)
        left = run_command(account, commands.leave, target=joined["peer_id"])
        unknown = run_command(account, commands.join, target="@no_such_group_anywhere")
    assert profile == {"ok": True, "telegram_id": me, "username": f"joiner{me}"}
    account.refresh_from_db()
    assert account.username == f"joiner{me}"
    assert joined["ok"] and joined["title"] == f"Open house {me}"
    assert any(d["title"] == f"Open house {me}" and d["kind"] == "group" for d in dialogs["dialogs"])
    assert left == {"ok": True}
    assert group not in tgsim.world_call("user_info", me)["channels"]
    assert unknown["ok"] is False and "cannot find" in unknown["error"]
    assert list(account.events.filter(kind__in=["joined", "left"]).values_list("kind", flat=True)) == [
        "left",
        "joined",
    ]
