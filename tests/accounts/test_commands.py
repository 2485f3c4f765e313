from __future__ import annotations

import random

import pytest
from celery.result import AsyncResult

from accounts import tasks
from accounts.models import Account
from accounts.services import account_command
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_command(account, task, **kwargs):
    return AsyncResult(account_command(account=account, task=task, **kwargs)).get(timeout=60)


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
            account, tasks.send_message, peer=f"@friend{me}", text="hello once", random_id=random_id
        )
        again = run_command(
            account, tasks.send_message, peer=f"@friend{me}", text="hello once", random_id=random_id
        )
    assert first["ok"] and again["ok"]
    assert first["message_id"] == again["message_id"]
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert texts.count("hello once") == 1
