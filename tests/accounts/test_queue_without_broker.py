"""A command queued while the broker is down (a RabbitMQ restart) fails in plain words instead of staying
queued with no message any host could consume (found by the chaos run, docs/chaos.md)."""

from __future__ import annotations

import pytest

from accounts import registry
from accounts.models import Account, Operation
from crm.celery import app as celery_app
from inbox import services
from inbox.models import Message
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db


def _publish_to(url: str) -> None:
    """Point this process's Celery publishing at ``url``: its connection and producer pools are built
    from the broker URL on first use, so they are dropped with it."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    """Nothing listens where this process publishes (port 1), as while the broker restarts."""
    settings.COMMAND_PUBLISH_PATIENCE = 1.0
    previous = celery_app.conf.broker_url
    _publish_to("amqp://guest:guest@127.0.0.1:1//")
    yield
    _publish_to(previous)


def test_a_reply_queued_while_the_broker_is_down_is_marked_failed_in_plain_words(
    broker_down, make_account, admin_user, django_capture_on_commit_callbacks
):
    account = make_account(status=Account.Status.ACTIVE)
    conversation = conversation_make(account, title="Ann", peer_id=4242, texts=("hello?",))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.reply_send(conversation=conversation, text="on our way", by=admin_user)
    reply.refresh_from_db()
    assert reply.delivery == Message.Delivery.FAILED
    assert reply.failure_reason == registry.UNQUEUED
    operations = dict(Operation.objects.filter(account=account).values_list("command", "state"))
    assert operations["inbox.reply"] == Operation.State.FAILED, "never left queued with no message"
    assert set(operations.values()) == {Operation.State.FAILED}


def test_with_the_broker_up_the_command_is_queued(make_account, django_capture_on_commit_callbacks):
    from accounts import commands

    account = make_account(status=Account.Status.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        operation_id = commands.send.queue(account, peer="@ann", text="hi", random_id=7)
    assert Operation.objects.get(pk=operation_id).state == Operation.State.QUEUED
