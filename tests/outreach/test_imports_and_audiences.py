from __future__ import annotations

import pytest

from inbox.models import Contact, Conversation
from outreach import imports, selectors, services
from outreach.models import Audience, Recipient
from tests.support import outreach as build

pytestmark = pytest.mark.django_db


def test_a_csv_keeps_good_rows_and_reports_each_bad_one_by_line():
    known = build.contacts(1, prefix="known")[0]
    audience = Audience.objects.create(name="From CSV")
    csv = (
        "username,phone,user_id,first_name\n"
        f"@{known.username},,,\n"  # line 2: a known username
        ",,555000111,Zoe\n"  # line 3: a new person by id
        "not a name!,,,\n"  # line 4: bad username
        "@nobody_knows_me,,,\n"  # line 5: unknown username
        ",,-4,\n"  # line 6: bad id
        ",,,\n"  # line 7: empty
        f"{known.username},,,\n"  # line 8: the same person again
    )
    report = imports.audience_import_csv(audience=audience, data=csv.encode())
    assert report.added == 2
    assert [line for line, _ in report.errors] == [4, 5, 6, 7]
    assert "not a Telegram username" in report.errors[0][1]
    assert "not a known contact yet" in report.errors[1][1]
    assert Contact.objects.get(telegram_id=555000111).first_name == "Zoe"


def test_a_csv_without_a_known_column_is_refused_whole():
    report = imports.audience_import_csv(audience=Audience.objects.create(name="x"), data=b"name\nAda\n")
    assert report.added == 0 and report.errors[0][0] == 1


def test_people_with_private_conversations_can_be_added(make_account):
    account = make_account()
    people = build.contacts(3)
    for person in people[:2]:
        Conversation.objects.create(account=account, peer_id=person.telegram_id, kind="private")
    Conversation.objects.create(account=account, peer_id=-100123, kind="group")
    audience = Audience.objects.create(name="Chats")
    report = imports.audience_import_conversations(audience=audience)
    assert report.added == 2
    assert set(audience.members.values_list("contact_id", flat=True)) == {p.pk for p in people[:2]}


def test_audience_filters_drop_people_without_usernames_opt_outs_and_the_already_contacted(make_account):
    named, nameless = build.contacts(3), build.contacts(1, username=False)
    named[0].opted_out = True
    named[0].save()
    audience = build.audience(named + nameless)
    assert selectors.audience_contacts(audience=audience).count() == 3  # opt-outs are left out by default
    audience.require_username = True
    audience.save()
    assert selectors.audience_contacts(audience=audience).count() == 2

    account = make_account(status="active")
    earlier = build.campaign(build.audience([named[1]]), [account])
    services.campaign_start(campaign=earlier)
    Recipient.objects.filter(campaign=earlier).update(first_sent_at="2026-01-01T00:00Z")
    audience.exclude_contacted = True
    audience.save()
    assert list(selectors.audience_contacts(audience=audience)) == [named[2]]


def test_scraped_members_with_nul_characters_in_their_names_are_stored_without_them(make_account):
    from accounts.telegram.records import UserInfo
    from outreach import scraping

    account = make_account(status="active")
    audience = Audience.objects.create(name="Scraped")
    odd = UserInfo(
        telegram_id=9_000_001,
        access_hash=5,
        username="odd",
        first_name="Ze\x00ro",
        last_name="By\x00te",
        phone="",
        is_bot=False,
        is_deleted=False,
    )
    scraping.store_people(account_id=account.pk, audience_id=audience.pk, job_id=1, people=[odd])
    contact = Contact.objects.get(telegram_id=9_000_001)
    assert (contact.first_name, contact.last_name) == ("Zero", "Byte")
    assert audience.members.count() == 1
