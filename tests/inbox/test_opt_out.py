# ruff: noqa: RUF001, RUF003 - the texts are meant to be in other scripts and with look-alikes
"""Do not contact: opt-out words found on ingestion, opting a person out from a conversation, and an
admin removing it with the history kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo
from inbox import optout, store
from inbox.models import Contact, Conversation, Message, OptOut
from inbox.records import Batch

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BOB = UserInfo(telegram_id=702, access_hash=5, first_name="Bob", username="bob")


# --- the words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "stop"),
        ("Please stop.", "stop"),
        ("unsubscribe me please", "unsubscribe"),
        ("I want to opt   out", "opt out"),
        ("Don’t contact me again", "don't contact"),
        ("Bitte ABMELDEN", "abmelden"),
        ("Je veux me DÉSABONNER", "desabonner"),
        ("Arrêtez svp", "arretez"),
        ("Quiero darme de baja", "darme de baja"),
        ("cancelar suscripción", "cancelar suscripcion"),
        ("Non scrivermi più", "non scrivermi"),
        ("Não me mande mais nada", "nao me mande"),
        ("Отписаться", "отписаться"),
        ("СТОП!!!", "стоп"),
        ("Не пишите мне больше", "не пишите"),
        ("Відпишіть мене", "відпишіть"),
        ("Wypisz mnie", "wypisz mnie"),
        ("Graag uitschrijven", "uitschrijven"),
        ("ABONELİKTEN ÇIK", "abonelikten cik"),
        ("Lütfen rahatsız etmeyin", "rahatsiz etmeyin"),
    ],
)
def test_it_finds_opt_out_words_in_every_listed_language(text, word):
    assert optout.opt_out_word(text) == word


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Is the flat still available?",
        "Non-stop service, bus stops nearby",  # "non-stop" has "stop" after a hyphen: flagged? see below
        "stopwatch",
        "unstoppable",
        "the bus stopped",
        "Abmeldung erhalten",
        "bajar el precio",
    ],
)
def test_words_only_match_whole(text):
    found = optout.opt_out_word(text)
    if text.startswith("Non-stop"):
        # A hyphen is a word boundary: "non-stop" reads as "stop" on its own. Flags only ever ask an
        # operator, so this false alarm is accepted rather than guessing at compounds.
        assert found == "stop"
    else:
        assert found == ""


def test_hostile_text_is_handled_without_error():
    assert optout.opt_out_word("st\x00op") == "stop"  # a NUL inside is dropped like storage drops it
    assert optout.opt_out_word("\x00stop\x00") == "stop"
    assert optout.opt_out_word("a" * 2_000_000) == ""  # huge: only the first SCAN_LIMIT characters
    assert optout.opt_out_word("a " * 1_000_000 + "stop") == ""  # past the limit: not scanned
    assert optout.opt_out_word("x" * (optout.SCAN_LIMIT - 5) + " stop") == "stop"
    # Mixed scripts: a Cyrillic "о" in a Latin word is another word (no look-alike folding)...
    assert optout.opt_out_word("st\u043ep") == ""
    # ...and words in two scripts side by side are each found.
    assert optout.opt_out_word("Привет! STOP") == "stop"
    assert optout.opt_out_word("стопstop") == ""
    assert optout.opt_out_word("\ud800 stop") == "stop"  # a lone surrogate does not break matching
    assert optout.opt_out_word("s\u0301top") == "stop"  # combining accents are ignored
    assert optout.opt_out_word("🛑stop🛑") == "stop"


# --- ingestion ---------------------------------------------------------------------------------------


def _received(account, telegram_id, text, *, kind="private", out=False, edited=None):
    if kind == "private":
        peer = PeerInfo(peer_id=BOB.telegram_id, kind="private", title="Bob", username="bob", user=BOB)
    else:
        peer = PeerInfo(peer_id=-1000000000901, kind="group", title="Buyers")
    return MessageRecord(
        account_id=account.pk, peer=peer, telegram_id=telegram_id, out=out, date=T0, text=text,
        sender=None if out else BOB, sender_name="" if out else "Bob", edited_at=edited,
    )  # fmt: skip


@pytest.fixture
def account(make_account):
    return make_account(status="active")


@pytest.mark.django_db
def test_a_received_opt_out_is_flagged_on_the_message_and_conversation(account):
    store.ingest(
        Batch(messages=[_received(account, 1, "hello"), _received(account, 2, "Please STOP writing")])
    )
    convo = Conversation.objects.get(account=account, peer_id=BOB.telegram_id)
    assert convo.opt_out_flag == "stop"
    assert dict(convo.messages.values_list("telegram_id", "opt_out_word")) == {1: "", 2: "stop"}
    assert not Contact.objects.get(telegram_id=BOB.telegram_id).opted_out  # only flagged, never decided


@pytest.mark.django_db
def test_our_own_messages_and_groups_are_not_flagged(account):
    store.ingest(
        Batch(messages=[_received(account, 1, "stop", out=True), _received(account, 2, "stop", kind="g")])
    )
    assert not Message.objects.exclude(opt_out_word="").exists()
    assert not Conversation.objects.exclude(opt_out_flag="").exists()


@pytest.mark.django_db
def test_an_edit_that_adds_the_words_flags_it_and_a_replay_does_not_reflag_a_dismissed_one(account):
    store.ingest(Batch(messages=[_received(account, 1, "hi")]))
    store.ingest(Batch(messages=[_received(account, 1, "unsubscribe", edited=T0.replace(minute=5))]))
    convo = Conversation.objects.get(account=account)
    assert convo.opt_out_flag == "unsubscribe"
    optout.conversation_opt_out_dismiss(conversation=convo)
    store.ingest(Batch(messages=[_received(account, 1, "unsubscribe", edited=T0.replace(minute=5))]))
    convo.refresh_from_db()
    assert convo.opt_out_flag == ""  # the same update replayed is not a new message
    assert convo.messages.get().opt_out_word == "unsubscribe"  # the message keeps its mark


@pytest.mark.django_db
def test_a_person_already_opted_out_is_not_flagged_again(account, operator):
    store.ingest(Batch(messages=[_received(account, 1, "hi")]))
    convo = Conversation.objects.get(account=account)
    optout.contact_opt_out(contact=convo.contact, reason="asked by phone", by=operator, conversation=convo)
    store.ingest(Batch(messages=[_received(account, 2, "STOP")]))
    convo.refresh_from_db()
    assert convo.opt_out_flag == ""
    assert convo.messages.get(telegram_id=2).opt_out_word == "stop"


@pytest.mark.django_db
def test_a_huge_message_with_nul_bytes_is_stored_and_flagged(account):
    text = "stop \x00" + "x " * 50_000
    store.ingest(Batch(messages=[_received(account, 1, text)]))
    message = Message.objects.get()
    assert message.opt_out_word == "stop"
    assert "\x00" not in message.text


# --- opting out and removing it ----------------------------------------------------------------------


@pytest.fixture
def bob_conversation(account):
    store.ingest(Batch(messages=[_received(account, 1, "stop it")]))
    return Conversation.objects.select_related("contact").get(account=account)


@pytest.mark.django_db
def test_opting_out_records_who_when_and_why_and_clears_the_flags(bob_conversation, operator):
    record = optout.contact_opt_out(
        contact=bob_conversation.contact, reason="Wrote “stop”", by=operator, conversation=bob_conversation
    )
    assert (record.reason, record.created_by, record.conversation) == (
        "Wrote “stop”",
        operator,
        bob_conversation,
    )
    assert Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    assert Conversation.objects.get(pk=bob_conversation.pk).opt_out_flag == ""
    again = optout.contact_opt_out(contact=bob_conversation.contact, reason="twice", by=operator)
    assert again.pk == record.pk and OptOut.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reason", "problem"), [("a\x00b", "NUL"), ("x" * 501, "too long"), ("\ud800", "surrogate")]
)
def test_a_bad_reason_is_refused_and_nothing_changes(bob_conversation, operator, reason, problem):
    with pytest.raises(ValueError, match=problem):
        optout.contact_opt_out(contact=bob_conversation.contact, reason=reason, by=operator)
    assert not Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_only_an_admin_removes_an_opt_out_and_the_history_stays(bob_conversation, operator, admin_user):
    optout.contact_opt_out(contact=bob_conversation.contact, reason="stop", by=operator)
    with pytest.raises(PermissionDenied):
        optout.contact_opt_out_remove(contact=bob_conversation.contact, by=operator)
    assert Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    removed = optout.contact_opt_out_remove(contact=bob_conversation.contact, by=admin_user)
    assert removed is not None and removed.removed_by == admin_user and removed.removed_at is not None
    assert not Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    # Opting out again makes a new record; both stay.
    optout.contact_opt_out(contact=bob_conversation.contact, reason="again", by=operator)
    assert [o.reason for o in optout.opt_outs_of(contact=bob_conversation.contact)] == ["again", "stop"]


# --- the views ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_conversation_shows_the_flag_and_one_click_opts_out(bob_conversation, operator, operator_client):
    bob_conversation.account.operators.add(operator)
    url = reverse("inbox:conversation", args=[bob_conversation.pk])
    page = operator_client.get(url).content.decode()
    assert "The person wrote “stop”" in page and "Opt-out words: “stop”" in page
    opt_out = reverse("inbox:opt_out", args=[bob_conversation.pk])
    response = operator_client.post(
        opt_out, {"action": "opt_out", "reason": "Wrote stop"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert (
        "Do not contact." in response.content.decode() and "Remove opt-out" not in response.content.decode()
    )
    assert Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    # An operator cannot remove it (403); the opt-out stays.
    assert operator_client.post(opt_out, {"action": "remove"}).status_code == 403
    assert Contact.objects.get(pk=bob_conversation.contact_id).opted_out


@pytest.mark.django_db
def test_an_admin_removes_it_from_the_conversation(bob_conversation, admin_user, admin_client):
    optout.contact_opt_out(contact=bob_conversation.contact, reason="stop", by=admin_user)
    opt_out = reverse("inbox:opt_out", args=[bob_conversation.pk])
    page = admin_client.get(reverse("inbox:conversation", args=[bob_conversation.pk])).content.decode()
    assert "Remove opt-out" in page
    response = admin_client.post(opt_out, {"action": "remove"})
    assert response.status_code == 302
    assert not Contact.objects.get(pk=bob_conversation.contact_id).opted_out
    assert OptOut.objects.get().removed_by == admin_user


@pytest.mark.django_db
def test_a_bad_reason_is_explained_in_the_pane(bob_conversation, admin_client):
    opt_out = reverse("inbox:opt_out", args=[bob_conversation.pk])
    response = admin_client.post(opt_out, {"action": "opt_out", "reason": "x\x00"}, HTTP_HX_REQUEST="true")
    assert "NUL character" in response.content.decode()
    assert not Contact.objects.get(pk=bob_conversation.contact_id).opted_out


@pytest.mark.django_db
def test_an_outsider_cannot_opt_anyone_out(bob_conversation, outsider, client):
    client.force_login(outsider)
    opt_out = reverse("inbox:opt_out", args=[bob_conversation.pk])
    assert client.post(opt_out, {"action": "opt_out"}).status_code == 404
    assert not Contact.objects.get(pk=bob_conversation.contact_id).opted_out


@pytest.mark.django_db
def test_a_group_has_nobody_to_opt_out(account, admin_client):
    store.ingest(Batch(messages=[_received(account, 1, "hi", kind="group")]))
    group = Conversation.objects.get(account=account)
    opt_out = reverse("inbox:opt_out", args=[group.pk])
    response = admin_client.post(opt_out, {"action": "opt_out"}, HTTP_HX_REQUEST="true")
    assert "Only a person can opt out" in response.content.decode()


@pytest.mark.django_db
def test_the_opt_out_words_filter_lists_flagged_conversations(bob_conversation, admin_client):
    page = admin_client.get(reverse("inbox:index") + "?opt_out=1", HTTP_HX_REQUEST="true").content.decode()
    assert f'id="conv-{bob_conversation.pk}"' in page and "opt-out?" in page
    optout.conversation_opt_out_dismiss(conversation=bob_conversation)
    page = admin_client.get(reverse("inbox:index") + "?opt_out=1", HTTP_HX_REQUEST="true").content.decode()
    assert f'id="conv-{bob_conversation.pk}"' not in page


@pytest.mark.django_db(transaction=True)
def test_two_operators_clicking_at_once_record_one_opt_out(account, operator, admin_user):
    import threading

    from django.db import connection

    store.ingest(Batch(messages=[_received(account, 1, "stop")]))
    contact = Contact.objects.get(telegram_id=BOB.telegram_id)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def click(user):
        try:
            barrier.wait()
            results.append(
                optout.contact_opt_out(contact=Contact.objects.get(pk=contact.pk), reason="", by=user)
            )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(u,)) for u in (operator, admin_user)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert OptOut.objects.filter(contact=contact).count() == 1
    assert {r.pk for r in results} == {OptOut.objects.get().pk}
