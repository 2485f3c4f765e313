"""The webhooks pages of the console: endpoints listed, created (the secret shown once), edited, rotated,
enabled and disabled; the delivery log with replay and "send test event". Admins only; every bad input
gets a plain error and loses nothing."""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from webhooks import services, tasks
from webhooks.delivery import secrets_of
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


def create(client, **fields):
    return client.post(reverse("webhooks:new"), {"description": "CRM sync", **fields})


def test_every_page_opens_for_an_admin_and_refuses_an_operator(admin_client, operator, client, endpoint):
    ep, _ = endpoint
    pages = [
        reverse("webhooks:index"),
        reverse("webhooks:new"),
        reverse("webhooks:detail", args=[ep.pk]),
        reverse("webhooks:edit", args=[ep.pk]),
        reverse("webhooks:rotate", args=[ep.pk]),
        reverse("webhooks:delete", args=[ep.pk]),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    assert admin_client.get(reverse("webhooks:detail", args=[ep.pk + 1000])).status_code == 404
    client.force_login(operator)
    for page in pages:
        assert client.get(page).status_code == 403, page
    for name in ("toggle", "test", "rotate", "delete"):
        assert client.post(reverse(f"webhooks:{name}", args=[ep.pk])).status_code == 403
    assert Endpoint.objects.filter(pk=ep.pk, enabled=True).exists()


def test_a_new_endpoint_shows_its_secret_once_and_never_again(
    admin_client, receiver, private_allowed, caplog
):
    with caplog.at_level(logging.DEBUG):
        answer = create(
            admin_client, url=receiver.url, event_types=["message.received", "account.flood_wait"]
        )
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    [secret] = set(SECRET.findall(answer.content.decode()))
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["account.flood_wait", "message.received"]
    for page in (reverse("webhooks:index"), reverse("webhooks:detail", args=[endpoint.pk])):
        html = admin_client.get(page).content.decode()
        assert secret not in html and not SECRET.search(html)
    assert secret not in caplog.text

    services.test_event_send(endpoint=endpoint)
    tasks.sweep()
    assert receiver.wait_for(1)[0].verifies_with(secret)


def test_a_new_endpoint_through_htmx_answers_with_the_fragment(admin_client, receiver, private_allowed):
    answer = admin_client.post(reverse("webhooks:new"), {"url": receiver.url}, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert html.lstrip().startswith('<section id="endpoint-form"') and SECRET.search(html)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"url": ""}, "Enter the endpoint&#x27;s URL"),
        ({"url": "http://example.com/hook"}, "Only https:// URLs are allowed"),
        ({"url": "ftp://example.com/hook"}, "Only https:// URLs are allowed"),
        ({"url": "https://example.com/\x00hook"}, "Null characters are not allowed"),
        ({"url": "https://127.0.0.1/hook"}, "non-public address"),
        ({"url": "https://no-such-host.invalid/hook"}, "could not be resolved"),
        ({"url": "https://example.com/" + "a" * 5000}, "longer than 2048 characters"),
        ({"url": "https://example.com:99999/hook"}, "port is not valid"),
        ({"url": "https://user:pw@example.com/hook"}, "no user name or password"),
        (
            {"url": "https://example.com/hook", "event_types": ["message.exploded"]},
            "message.exploded is not an event type",
        ),
        ({"url": "https://example.com/hook", "account": "999999"}, "Choose one of the accounts"),
        ({"url": "https://example.com/hook", "account": "1e308"}, "Choose one of the accounts"),
        ({"url": "https://example.com/hook", "description": "x" * 300}, "at most 255 characters"),
    ],
)
def test_a_bad_endpoint_gets_a_plain_error_and_no_endpoint(admin_client, fields, error, monkeypatch):
    # example.com must look public without asking DNS (the machine may have none).
    import socket

    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    answer = create(admin_client, **fields)
    assert answer.status_code == 200
    assert error in answer.content.decode()
    assert not Endpoint.objects.exists()


def test_services_refuse_what_the_form_cannot_send(db):
    with pytest.raises(services.EndpointError, match="Unknown event type"):
        services.endpoint_create(url="https://93.184.215.14/hook", event_types=["nope"])
    with pytest.raises(services.EndpointError, match="control characters"):
        services.endpoint_create(url="https://93.184.215.14/\nhook")
    with pytest.raises(services.EndpointError, match="NUL"):
        services.endpoint_create(url="https://93.184.215.14/hook", description="a\x00b")
    assert not Endpoint.objects.exists()


def test_editing_changes_filters_and_scope_but_keeps_the_secret(admin_client, endpoint, make_account):
    ep, secret = endpoint
    account = make_account(status=Account.Status.ACTIVE)
    answer = admin_client.post(
        reverse("webhooks:edit", args=[ep.pk]),
        {"url": ep.url, "description": "Only Ann", "event_types": ["message.sent"], "account": account.pk},
    )
    assert answer.status_code == 302
    ep.refresh_from_db()
    assert (ep.description, ep.event_types, ep.account_id) == ("Only Ann", ["message.sent"], account.pk)
    assert secrets_of(ep, now=timezone.now()) == [secret]
    bad = admin_client.post(reverse("webhooks:edit", args=[ep.pk]), {"url": "http://example.invalid/"})
    assert "Only https://" in bad.content.decode() or "could not be resolved" in bad.content.decode()
    ep.refresh_from_db()
    assert ep.description == "Only Ann"


def test_rotating_asks_first_then_shows_the_new_secret_once(admin_client, endpoint, receiver):
    ep, old = endpoint
    assert "Rotate the secret" in admin_client.get(reverse("webhooks:rotate", args=[ep.pk])).content.decode()
    answer = admin_client.post(reverse("webhooks:rotate", args=[ep.pk]))
    assert "no-store" in answer["Cache-Control"]
    [new] = set(SECRET.findall(answer.content.decode()))
    assert new != old
    detail = admin_client.get(reverse("webhooks:detail", args=[ep.pk])).content.decode()
    assert new not in detail and old not in detail and "the previous one also signs until" in detail
    services.test_event_send(endpoint=Endpoint.objects.get(pk=ep.pk))
    tasks.sweep()
    [request] = receiver.wait_for(1)
    assert request.verifies_with(old) and request.verifies_with(new)


def test_disable_enable_test_event_and_replay_from_the_detail_page(admin_client, endpoint, receiver):
    ep, _ = endpoint
    detail = reverse("webhooks:detail", args=[ep.pk])
    admin_client.post(reverse("webhooks:toggle", args=[ep.pk]))
    ep.refresh_from_db()
    assert not ep.enabled and ep.disabled_reason == "Disabled by an admin"
    page = admin_client.get(detail).content.decode()
    assert "Disabled" in page and "Disabled by an admin" in page
    assert 'class="badge" title="Disabled webhook endpoints">1<' in page  # the nav says so everywhere
    answer = admin_client.post(reverse("webhooks:test", args=[ep.pk]), follow=True)
    assert "The endpoint is disabled: enable it first" in answer.content.decode()
    admin_client.post(reverse("webhooks:toggle", args=[ep.pk]))

    receiver.script = [500]
    answer = admin_client.post(reverse("webhooks:test", args=[ep.pk]), follow=True)
    assert "Test event msg_" in answer.content.decode()
    tasks.sweep()
    delivery = Delivery.objects.get(endpoint=ep)
    page = admin_client.get(detail).content.decode()
    assert f'id="delivery-{delivery.pk}"' in page and "HTTP 500" in page and "webhook.test" in page
    answer = admin_client.post(reverse("webhooks:replay", args=[delivery.pk]), follow=True)
    assert "Replaying" in answer.content.decode()
    tasks.sweep()
    delivery.refresh_from_db()
    assert delivery.state == "succeeded"
    assert len(set(receiver.ids())) == 1 and len(receiver.requests) == 2


def test_a_delivery_not_yet_tried_cannot_be_replayed(admin_client, endpoint):
    ep, _ = endpoint
    delivery = services.test_event_send(endpoint=ep)
    answer = admin_client.post(reverse("webhooks:replay", args=[delivery.pk]), follow=True)
    assert "has not been tried yet" in answer.content.decode()
    assert admin_client.post(reverse("webhooks:replay", args=[delivery.pk + 99])).status_code == 404


def test_deleting_asks_first(admin_client, endpoint):
    ep, _ = endpoint
    assert Endpoint.objects.filter(pk=ep.pk).exists()
    admin_client.post(reverse("webhooks:delete", args=[ep.pk]))
    assert not Endpoint.objects.filter(pk=ep.pk).exists()


def test_the_list_shows_state_filters_and_why_an_endpoint_was_disabled(admin_client, endpoint):
    ep, secret = endpoint
    services.endpoint_disable(endpoint_id=ep.pk, reason="The endpoint answered 410 Gone")
    html = admin_client.get(reverse("webhooks:index")).content.decode()
    assert "CRM sync" in html and "The endpoint answered 410 Gone" in html and "every event" in html
    assert secret not in html


def test_the_delivery_log_pages(admin_client, endpoint):
    ep, _ = endpoint
    for _ in range(30):
        services.test_event_send(endpoint=ep)
    detail = reverse("webhooks:detail", args=[ep.pk])
    first = admin_client.get(detail).content.decode()
    assert first.count('id="delivery-') == 25 and "page 1 of 2" in first
    second = admin_client.get(detail + "?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert second.lstrip().startswith('<section id="deliveries"') and second.count('id="delivery-') == 5
    assert admin_client.get(detail + "?page=99999999999999999999").status_code == 200
