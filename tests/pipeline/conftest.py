"""A small world for the pipeline: one account granted to the operator, a contact met through it, a
stranger's contact met only through an account the operator is not granted, and a fresh set of stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from inbox.models import Contact
from pipeline.models import Deal, Stage
from tests.support.browser import artifacts_dir, logged_in_page
from tests.support.inbox import conversation_make


@dataclass
class World:
    stages: dict[str, Stage]
    contact: Contact
    conversation: Any
    hidden_contact: Contact
    hidden_conversation: Any


@pytest.fixture
def world(make_account, operator) -> World:
    Deal.objects.all().delete()
    Stage.objects.all().delete()  # the migration's starting stages; each test names its own
    stages = {}
    for position, (name, kind) in enumerate(
        [("Lead", "open"), ("Qualified", "open"), ("Proposal", "open"), ("Won", "won"), ("Lost", "lost")]
    ):
        stages[name] = Stage.objects.create(name=name, kind=kind, position=position)
    granted, other = make_account(), make_account()
    granted.operators.add(operator)
    contact = Contact.objects.create(telegram_id=7_001_001, first_name="Grace", last_name="Hopper")
    hidden = Contact.objects.create(telegram_id=7_001_002, first_name="Hidden", last_name="Person")
    conversation = conversation_make(granted, title="Grace Hopper", peer_id=7_001_001, contact=contact)
    hidden_conversation = conversation_make(other, title="Hidden Person", peer_id=7_001_002, contact=hidden)
    return World(stages, contact, conversation, hidden, hidden_conversation)


@pytest.fixture(scope="session")
def artifacts():
    return artifacts_dir("pipeline")


@pytest.fixture
def operator_page(chromium, live_server, operator):
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    yield page
    context.close()
