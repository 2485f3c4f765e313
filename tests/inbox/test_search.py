"""Searching conversations as a CRM user types: names, @usernames, phone digits, notes and message text,
at word beginnings, ranked (the person first, then notes, then messages); hostile searches are just
searches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from inbox import selectors
from inbox.models import Contact, Conversation, Note
from inbox.search import Search
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(make_account, operator):
    account = make_account(status=Account.Status.ACTIVE)
    account.operators.add(operator)
    now = timezone.now()
    people = [
        # title, username, first, last, phone, what they said, minutes ago
        ("Grace Hopper", "amazing_grace", "Grace", "Hopper", "+49 151 2345 6789", "Can I see the flat?", 50),
        ("Alan Turing", "", "Alan", "Turing", "", "Is Grace coming too?", 1),
        ("Олена Коваль", "olena_k", "Олена", "Коваль", "380501112233", "Доброго дня", 20),
        ("Linus", "", "Linus", "", "", "The parking space is extra", 30),
    ]
    made = {}
    for n, (title, username, first, last, phone, said, ago) in enumerate(people):
        contact = Contact.objects.create(
            telegram_id=7000 + n, first_name=first, last_name=last, username=username, phone=phone
        )
        conversation = conversation_make(
            account, title=title, peer_id=7000 + n, texts=(said,), username=username, contact=contact
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now - timedelta(minutes=ago))
        made[first] = conversation
    Note.objects.create(
        conversation=made["Linus"], text="Wants to call Grace's landlord back", author=operator
    )
    return made


def found(user, q: str) -> list[str]:
    rows, _ = selectors.conversation_list(user=user, filters=selectors.Filters(q=q, state="all"))
    return [r.title for r in rows]


def test_a_name_is_found_from_the_beginnings_of_its_words(operator, desk):
    assert found(operator, "gra") == ["Grace Hopper", "Linus", "Alan Turing"]
    assert found(operator, "gra hop")[:1] == ["Grace Hopper"]
    assert found(operator, "Hopp") == ["Grace Hopper"]
    assert found(operator, "opper") == []  # the middle of a word is not a beginning
    assert found(operator, "amazing") == ["Grace Hopper"]  # @amazing_grace
    assert found(operator, "@olena") == ["Олена Коваль"]
    assert found(operator, "оле") == ["Олена Коваль"]  # any script
    assert found(operator, "КОВАЛЬ") == ["Олена Коваль"]


def test_the_person_ranks_above_a_note_and_a_note_above_what_was_said(operator, desk):
    # Alan only mentioned Grace (newest), Linus has a note about her, Grace is Grace (oldest).
    assert found(operator, "grace") == ["Grace Hopper", "Linus", "Alan Turing"]


def test_phone_digits_find_the_person_however_the_number_is_written(operator, desk):
    assert found(operator, "151 2345") == ["Grace Hopper"]
    assert found(operator, "+49151") == ["Grace Hopper"]
    assert found(operator, "0501112") == ["Олена Коваль"]
    assert found(operator, "151") == []  # too few digits to mean a phone number, and no word starts so


def test_notes_and_message_text_are_searched(operator, desk):
    assert found(operator, "landlord") == ["Linus"]
    assert found(operator, "park") == ["Linus"]
    assert found(operator, "flat") == ["Grace Hopper"]


def test_an_operator_finds_only_conversations_of_granted_accounts(operator, desk, make_account):
    hidden = make_account(status=Account.Status.ACTIVE)
    conversation_make(hidden, title="Grace Secret", peer_id=9999, texts=("grace",))
    assert "Grace Secret" not in found(operator, "grace")


@pytest.mark.parametrize(
    "q",
    ["'", "gra'ce", "a & b | !c", "(x:*)", ":*", "\\", "%", "_", "___", "<->", "🙂", "a" * 200, "ü" * 200,
     "1" * 200, "'; DROP TABLE inbox_message; --", "\ud800"],
)  # fmt: skip
def test_hostile_searches_are_just_searches(operator, desk, q):
    assert isinstance(found(operator, q), list)


def test_the_search_page_answers_hostile_input_and_keeps_the_query(operator_client, desk):
    for q in ["gra'ce & | !", "x" * 5000, "\x00grace", "%_"]:
        response = operator_client.get("/inbox/", {"q": q})
        assert response.status_code == 200
    assert "Grace Hopper" in operator_client.get("/inbox/", {"q": "\x00gra"}).content.decode()


def test_parsing_quotes_every_word_and_keeps_short_message_words_whole():
    search = Search.parse("Al O'Neil 0151-234")
    assert search is not None
    assert search.words == "'al':* & 'o':* & 'neil':* & '0151':* & '234':*"
    assert search.message_words == "'al' & 'o' & 'neil':* & '0151':* & '234':*"
    assert search.digits == ""  # letters: not a phone number
    assert Search.parse("+49 (151) 234-56").digits == "4915123456"
    assert Search.parse("!!! ---") is None
