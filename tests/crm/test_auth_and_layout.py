from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("inbox:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_operator_sees_the_layout_without_admin_sections(operator_client):
    response = operator_client.get(reverse("inbox:index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Inbox" in html and "otto" in html
    assert reverse("accounts:index") not in html
    assert "htmx" in html  # django-htmx's script tag
    assert 'hx-headers=\'{"X-CSRFToken"' in html


def test_admin_sees_every_section(admin_client):
    html = admin_client.get(reverse("inbox:index")).content.decode()
    for name in ("inbox:index", "accounts:index", "outreach:index", "admin:index"):
        assert reverse(name) in html


@pytest.mark.parametrize("name", ["accounts:index", "outreach:index"])
def test_admin_sections_refuse_operators(operator_client, name):
    assert operator_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["accounts:index", "outreach:index"])
def test_admin_sections_open_for_admins(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 200


def test_django_admin_is_for_admins_only(operator_client, client, admin_user):
    assert operator_client.get("/admin/").status_code == 302  # to the admin login
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_login_then_logout(client, operator):
    response = client.post(reverse("login"), {"username": "otto", "password": "pw-operator-1"})
    assert response.status_code == 302
    assert client.get(reverse("inbox:index")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("inbox:index")).status_code == 302


def test_login_is_throttled_after_repeated_failures(client, operator, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "otto", "password": "wrong"}).status_code == 200
    # Even the right password is refused while the throttle holds.
    response = client.post(reverse("login"), {"username": "otto", "password": "pw-operator-1"})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert client.get(reverse("inbox:index")).status_code == 302


def test_htmx_post_needs_the_csrf_header(operator):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    html = strict.get(reverse("inbox:index")).content.decode()
    token = html.split('"X-CSRFToken": "')[1].split('"')[0]
    assert strict.post(reverse("logout"), HTTP_HX_REQUEST="true").status_code == 403
    assert strict.post(reverse("logout"), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token).status_code == 302
