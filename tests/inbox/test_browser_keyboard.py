"""The inbox with a realistic mix of conversations, driven from the keyboard in Chromium.

Screenshots go to test-artifacts/inbox/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from inbox.models import CannedReply, Conversation, Label, Message, Note
from tests.support.inbox import conversation_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(make_account, operator, admin_user):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Harbour", last_name="Lettings")
    account.operators.add(operator)
    second = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=second.pk).update(first_name="City", last_name="Rentals")
    second.operators.add(operator)
    now = timezone.now()
    hot = Label.objects.create(name="hot lead", color="#c0392b")
    booked = Label.objects.create(name="viewing booked", color="#2a7ae2")
    CannedReply.objects.create(shortcut="price", text="The rent is 1,200 a month, bills included.")
    people = [
        ("Grace Hopper", "Can I see the flat on Saturday?", 2, account),
        ("Alan Turing", "Is the deposit refundable?", 1, second),
        ("Ada Lovelace", "You: Sure, I'll send the contract tonight.", 0, account),
        ("Linus T.", "Thanks, see you then!", 0, second),
        ("Margaret H.", "[photo]", 3, account),
    ]
    made = []
    for n, (name, last, unread, acct) in enumerate(people):
        c = conversation_make(acct, title=name, peer_id=900 + n, texts=("Hello!", last), unread=unread)
        Conversation.objects.filter(pk=c.pk).update(last_message_at=now - timedelta(minutes=7 * n))
        made.append(c)
    group = conversation_make(account, title="Elm Street buyers", peer_id=-1000000000077, kind="group")
    Conversation.objects.filter(pk=group.pk).update(last_message_at=now - timedelta(minutes=3))
    for n, (who, text) in enumerate(
        [
            ("Bob Buyer", "Who has seen the flat?"),
            ("Carol", "I did, on Monday — lovely light."),
            ("Bob Buyer", "Price?"),
        ]
    ):
        Message.objects.create(
            conversation=group,
            telegram_id=n + 1,
            direction="in",
            sender_name=who,
            text=text,
            date=now - timedelta(minutes=10 - n),
        )
    grace = made[0]
    grace.labels.add(hot, booked)
    Conversation.objects.filter(pk=grace.pk).update(assignee=operator)
    Message.objects.create(
        conversation=grace,
        direction="out",
        text="Saturday at 11 works!",
        delivery="sent",
        telegram_id=3,
        sent_by=operator,
    )
    Message.objects.create(
        conversation=grace,
        direction="out",
        text="I'll bring the keys.",
        delivery="failed",
        failure_reason="The recipient's privacy settings do not allow this",
        random_id=11,
    )
    Message.objects.create(
        conversation=grace,
        direction="in",
        telegram_id=4,
        text="",
        media_kind="photo",
        media={"width": 800, "height": 600, "size": 120_000},
        sender_name="Grace Hopper",
    )
    Message.objects.filter(conversation=grace, telegram_id=2).update(edited_at=now)
    Note.objects.create(conversation=grace, text="Prefers mornings. Has a cat.", author=operator)
    return account


def test_the_operator_works_the_inbox_from_the_keyboard(desk, chromium, live_server, operator, artifacts):
    from tests.inbox.conftest import logged_in_page

    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto("/inbox/")
        page.wait_for_selector(".conv-row")
        titles = page.locator(".conv-row .conv-title").all_inner_texts()
        assert titles[:3] == ["Grace Hopper", "Elm Street buyers", "Alan Turing"]
        page.screenshot(path=str(artifacts / "inbox-list.png"))

        page.keyboard.press("j")
        page.wait_for_selector("#conversation h2:has-text('Grace Hopper')")
        page.keyboard.press("j")
        page.wait_for_selector("#conversation h2:has-text('Elm Street buyers')")
        assert page.locator("#conversation .msg .sender").first.inner_text() == "Bob Buyer"
        page.screenshot(path=str(artifacts / "inbox-group.png"))
        page.keyboard.press("k")
        page.wait_for_selector("#conversation h2:has-text('Grace Hopper')")
        assert (
            page.locator("#conversation .msg.failed .failure")
            .inner_text()
            .startswith("The recipient's privacy settings do not allow this")
        )
        page.screenshot(path=str(artifacts / "inbox-conversation-with-data.png"))

        page.keyboard.press("r")
        page.keyboard.type("/pr")
        page.wait_for_selector(".canned-menu .canned:has-text('/price')")
        page.click(".canned-menu .canned:has-text('/price')")
        assert page.input_value("#reply-form textarea") == "The rent is 1,200 a month, bills included."
        page.keyboard.press("Escape")
        page.keyboard.press("e")
        page.wait_for_selector("#conv-header button:has-text('Reopen')")
        grace = Conversation.objects.get(title="Grace Hopper")
        assert grace.state == "closed"
    finally:
        context.close()
