"""End to end: a tgsim user's message reaches a receiver as message.received through a real session host
and worker; a ban in tgsim reaches it as account.status_changed (and the send it broke as
message.failed)."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from accounts import commands
from accounts.models import Account
from crm.celery import app
from tests.support.inbox import Persona, agent
from tests.support.processes import celery_worker, session_host, wait_for
from webhooks import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def bodies(receiver, type: str) -> list[dict]:
    return [b for b in (json.loads(r.body) for r in list(receiver.requests)) if b["type"] == type]


def test_a_tgsim_message_and_a_ban_reach_the_receiver(
    tgsim, host_env, api_app, receiver, private_allowed, tmp_path
):
    queue = f"test-hooks-{uuid.uuid4().hex[:10]}"
    account, me, address = agent(tgsim, api_app)
    _, secret = services.endpoint_create(url=receiver.url, account=account)
    alice = Persona(tgsim, first_name="Alice")
    env = {"CELERY_DEFAULT_QUEUE": queue, "WEBHOOK_ALLOW_PRIVATE": "1"}
    before = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with (
            celery_worker(queue=queue, log_path=tmp_path / "worker.log", **env),
            session_host("hooks", log_path=tmp_path / "host.log", env={**host_env, **env}),
        ):
            wait_for(
                lambda: Account.objects.filter(pk=account.pk, telegram_id=me).exists(),
                timeout=30,
                what="the host to connect the account",
            )
            alice.send(address, "Is the flat on Elm Street still free?")
            wait_for(lambda: bodies(receiver, "message.received"), timeout=30, what="message.received")
            [received] = bodies(receiver, "message.received")
            assert received["data"]["text"] == "Is the flat on Elm Street still free?"
            assert received["data"]["sender"]["telegram_id"] == alice.user_id
            assert received["data"]["account_id"] == account.pk
            assert received["data"]["direction"] == "in"

            tgsim.fault("ban", me)
            commands.send.queue(account, peer=address, text="never sent", random_id=random.getrandbits(63))
            wait_for(
                lambda: bodies(receiver, "account.status_changed"), timeout=30, what="account.status_changed"
            )
            wait_for(lambda: bodies(receiver, "message.failed"), timeout=30, what="message.failed")
    finally:
        app.conf.task_default_queue = before
        alice.close()
    [banned] = bodies(receiver, "account.status_changed")
    assert banned["data"]["to_status"] == "banned" and "USER_DEACTIVATED_BAN" in banned["data"]["reason"]
    [failed] = bodies(receiver, "message.failed")
    assert failed["data"]["command"] == "messages.send" and failed["data"]["account_status"] == "banned"
    assert all(r.verifies_with(secret) for r in receiver.requests)
    assert len(set(receiver.ids())) == len(receiver.requests)  # each event once
