"""Labels and canned replies kept by admins inside Switchboard: every bad input explained in place and
nothing changed, operators refused."""

from __future__ import annotations

import pytest

from inbox.models import CannedReply, Conversation, Label
from inbox.services import canned_expand
from tests.support.inbox import conversation_make

pytestmark = pytest.mark.django_db


def test_an_admin_adds_renames_recolours_and_deletes_a_label(admin_client, make_account):
    assert (
        admin_client.post("/settings/labels/", {"name": " hot lead ", "color": "#C0392B"}).status_code == 302
    )
    label = Label.objects.get()
    assert (label.name, label.color) == ("hot lead", "#c0392b")
    conversation = conversation_make(make_account(), title="Grace", peer_id=1, texts=("hi",))
    conversation.labels.add(label)
    page = admin_client.get("/settings/labels/").content.decode()
    assert "hot lead" in page and 'title="Takes it off 1 conversation"' in page

    admin_client.post(f"/settings/labels/{label.pk}/", {"name": "warm lead", "color": "#2a7ae2"})
    label.refresh_from_db()
    assert (label.name, label.color) == ("warm lead", "#2a7ae2")
    admin_client.post(f"/settings/labels/{label.pk}/delete/")
    assert not Label.objects.exists() and Conversation.objects.filter(pk=conversation.pk).exists()


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"name": "", "color": "#ffffff"}, "This field is required"),
        ({"name": "   ", "color": "#ffffff"}, "This field is required"),
        ({"name": "a\x00b", "color": "#ffffff"}, "Null characters are not allowed"),
        ({"name": "x" * 41, "color": "#ffffff"}, "at most 40 characters"),
        ({"name": "HOT", "color": "#ffffff"}, "There is a label “HOT” already"),
        ({"name": "new", "color": "red"}, "A colour looks like #2a7ae2"),
        ({"name": "new", "color": "#12345678"}, "at most 7 characters"),
        ({"name": "new", "color": "#12345z"}, "A colour looks like #2a7ae2"),
    ],
)
def test_a_bad_label_is_explained_and_nothing_changes(admin_client, values, error):
    Label.objects.create(name="hot", color="#000000")
    page = admin_client.post("/settings/labels/", values).content.decode()
    assert error in page
    assert list(Label.objects.values_list("name", "color")) == [("hot", "#000000")]


def test_a_rename_onto_another_label_is_refused_in_its_row(admin_client):
    hot = Label.objects.create(name="hot")
    Label.objects.create(name="cold")
    page = admin_client.post(f"/settings/labels/{hot.pk}/", {"name": "Cold", "color": "#000000"})
    assert "There is a label “Cold” already" in page.content.decode()
    assert Label.objects.get(pk=hot.pk).name == "hot"


def test_an_admin_keeps_canned_replies_that_operators_use(admin_client):
    admin_client.post("/settings/replies/", {"shortcut": "Price", "text": " The rent is 1,200. "})
    reply = CannedReply.objects.get()
    assert (reply.shortcut, reply.text) == ("price", "The rent is 1,200.")
    assert canned_expand("/price") == "The rent is 1,200."
    admin_client.post(f"/settings/replies/{reply.pk}/", {"shortcut": "rent", "text": "1,300 now."})
    assert canned_expand("/rent") == "1,300 now." and canned_expand("/price") == "/price"
    admin_client.post(f"/settings/replies/{reply.pk}/delete/")
    assert not CannedReply.objects.exists()


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"shortcut": "has space", "text": "x"}, "Enter a valid"),
        ({"shortcut": "../etc", "text": "x"}, "Enter a valid"),
        ({"shortcut": "price", "text": "x"}, "/price is taken already"),
        ({"shortcut": "PRICE", "text": "x"}, "/price is taken already"),
        ({"shortcut": "ok", "text": "bad\x00"}, "Null characters are not allowed"),
        ({"shortcut": "ok", "text": "y" * 4097}, "at most 4,096 characters"),
        ({"shortcut": "ok", "text": ""}, "This field is required"),
    ],
)
def test_a_bad_canned_reply_is_explained_and_nothing_changes(admin_client, values, error):
    CannedReply.objects.create(shortcut="price", text="1,200")
    page = admin_client.post("/settings/replies/", values).content.decode()
    assert error in page
    assert list(CannedReply.objects.values_list("shortcut", "text")) == [("price", "1,200")]


def test_operators_cannot_change_the_vocabulary(operator_client):
    label = Label.objects.create(name="hot")
    reply = CannedReply.objects.create(shortcut="price", text="1,200")
    for url in ("/settings/labels/", "/settings/replies/"):
        assert operator_client.get(url).status_code == 403
    assert operator_client.post(f"/settings/labels/{label.pk}/delete/").status_code == 403
    assert (
        operator_client.post(f"/settings/replies/{reply.pk}/", {"shortcut": "x", "text": "y"}).status_code
        == 403
    )
    assert Label.objects.filter(pk=label.pk).exists() and CannedReply.objects.get().shortcut == "price"


def test_a_missing_row_is_404_and_get_on_an_action_is_refused(admin_client):
    assert admin_client.post("/settings/labels/999999/", {"name": "x", "color": "#000000"}).status_code == 404
    assert admin_client.post("/settings/replies/" + "9" * 5000 + "/delete/").status_code == 404
    assert admin_client.get("/settings/labels/1/delete/").status_code == 405
