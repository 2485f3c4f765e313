from __future__ import annotations

import base64
import random
import re

import pytest
from celery.result import AsyncResult

from accounts import commands, onboarding, sessions
from accounts.models import Account, AccountEvent
from inbox.models import Message
from tests.support.accounts import new_phone
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "".join(["tr0ub4dor", "-and-3"])  # built at run time so no log line can quote this source


def wait(task_id: str) -> dict:
    return AsyncResult(task_id).get(timeout=60)


def onboard(account, *, password: str | None = None) -> None:
    assert wait(onboarding.login_request_code(account=account))["ok"]
    result = wait(onboarding.login_submit_code(account=account, code="22222"))
    if password:
        assert result["status"] == Account.Status.PASSWORD_NEEDED
        result = wait(onboarding.login_submit_password(account=account, password=password))
    assert result["status"] == Account.Status.ACTIVE, result


def test_accounts_survive_a_host_restart_without_login_and_get_what_arrived_meanwhile(
    tgsim, host_env, make_account, api_app, tmp_path
):
    people = []
    for index, password in enumerate([None, None, PASSWORD]):
        phone = new_phone()
        user_id = tgsim.world_call("create_user", phone=phone, first_name=f"Agent{index}", password=password)
        friend = tgsim.world_call(
            "create_user", phone=new_phone(), first_name=f"Friend{index}", username=f"fr{user_id}"
        )
        people.append((make_account(phone=phone), user_id, friend, password))

    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with session_host("first", log_path=logs[0], env=host_env):
        for account, user_id, _friend, password in people:
            onboard(account, password=password)
            sent = wait(
                commands.send.queue(
                    account,
                    peer=f"@fr{user_id}",
                    text="hello from before",
                    random_id=random.getrandbits(63),
                )
            )
            assert sent["ok"], sent
    logins_before = AccountEvent.objects.filter(kind__startswith="login_").count()

    # The host is down: each friend writes twice.
    for _account, user_id, friend, _ in people:
        for n in range(2):
            tgsim.world_call("say", friend, to_user_id=user_id, text=f"while you were away {n}")

    with session_host("second", log_path=logs[1], env=host_env):

        def caught_up():
            return all(
                Message.objects.filter(
                    conversation__account=account, direction="in", text__startswith="while you were away"
                ).count()
                == 2
                for account, *_ in people
            )

        wait_for(caught_up, timeout=60, what="every account to catch up on what arrived while down")
        for account, *_ in people:
            account.refresh_from_db()
            assert account.status == Account.Status.ACTIVE

    assert AccountEvent.objects.filter(kind__startswith="login_").count() == logins_before  # no new login
    for account, *_ in people:
        texts = list(
            Message.objects.filter(conversation__account=account, direction="in").values_list(
                "text", flat=True
            )
        )
        assert sorted(t for t in texts if t.startswith("while")) == [
            "while you were away 0",
            "while you were away 1",
        ]

    # Nothing secret in what the hosts logged during the whole run.
    captured = "".join(path.read_text(errors="replace") for path in logs)
    assert "Signed in" in captured or "succeeded" in captured  # the logs really are the run's logs
    secrets = [api_app.api_hash(), PASSWORD]
    for account, *_ in people:
        key = sessions.session_load(account_id=account.pk)[0].auth_key
        assert key
        secrets += [
            key.hex(),
            base64.b64encode(key).decode()[:40],
            base64.urlsafe_b64encode(key).decode()[:40],
        ]
    for secret in secrets:
        assert secret not in captured
    assert not re.search(r"(?<![\d.:-])22222(?![\d.:-])", captured), "a login code reached the logs"
