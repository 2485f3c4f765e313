"""Exactly once per Idempotency-Key for every write, not only sends: a retried note is one note, a call
still running answers 409 in_progress, and another key (or none) is another call."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import Account
from api.tools import once_slot
from inbox.models import Note
from tests.api.conftest import bearer
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db


def test_a_retried_write_is_done_once_and_answered_the_same(client, make_account, make_key):
    account = make_account(status=Account.Status.ACTIVE)
    conversation = conversation_make(account, title="Ann", peer_id=701, texts=("hi",))
    key, token = make_key([account])
    path = f"/api/v1/inbox/conversations/{conversation.pk}/notes"

    def note(text, idempotency_key=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
        return client.post(path, {"text": text}, "application/json", **bearer(token), **headers)

    first, again = note("call back at six", "n-1"), note("call back at six", "n-1")
    other, unkeyed, unkeyed_again = note("and at seven", "n-2"), note("no key"), note("no key")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert other.json() != first.json()
    texts = list(Note.objects.filter(conversation=conversation).values_list("text", flat=True))
    assert sorted(texts) == ["and at seven", "call back at six", "no key", "no key"]
    assert unkeyed.status_code == unkeyed_again.status_code == 200

    # A call with that key still running elsewhere (its claim is held): told so, nothing done twice.
    values = {"conversation": conversation.pk, "text": "in flight"}
    cache.add(once_slot(key.pk, None, "inbox_note", "n-3", values) + ":running", 1, 60)
    busy = note("in flight", "n-3")
    assert busy.status_code == 409 and busy.json()["error"] == "in_progress"
    assert not Note.objects.filter(text="in flight").exists()
