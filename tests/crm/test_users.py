"""Users and roles kept by admins inside Switchboard: passwords set but never shown, weak ones refused,
the last active admin kept, operators refused, a deactivated user signed out."""

from __future__ import annotations

import pytest
from django.test import Client

from crm.models import User

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery-9"


def test_an_admin_adds_an_operator_who_can_then_sign_in(admin_client):
    client = Client()
    answer = admin_client.post(
        "/settings/users/", {"username": "nina", "first_name": "Nina", "role": "operator", "password": STRONG}
    )
    page = answer.content.decode()
    assert "Added nina" in page and STRONG not in page
    nina = User.objects.get(username="nina")
    assert nina.role == "operator" and not nina.is_admin and nina.check_password(STRONG)
    assert STRONG not in nina.password  # hashed
    assert client.login(username="nina", password=STRONG)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"username": "nina", "role": "operator", "password": "~^~"}, "too short"),  # never in a token
        ({"username": "nina", "role": "operator", "password": "password123"}, "too common"),
        ({"username": "ada", "role": "operator", "password": STRONG}, "already exists"),
        ({"username": "bad name!", "role": "operator", "password": STRONG}, "Enter a valid username"),
        ({"username": "nina", "role": "root", "password": STRONG}, "Select a valid choice"),
        (
            {"username": "nina", "role": "operator", "password": STRONG, "first_name": "N\x00"},
            "Null characters",
        ),
        ({"username": "x" * 151, "role": "operator", "password": STRONG}, "at most 150 characters"),
    ],
)
def test_a_bad_new_user_is_explained_and_nobody_is_added(admin_client, values, error):
    page = admin_client.post("/settings/users/", values).content.decode()
    assert error in page
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
    assert values["password"] not in page


def test_roles_change_but_the_last_active_admin_stays_an_admin(admin_client, admin_user, operator):
    admin_client.post(f"/settings/users/{operator.pk}/role/", {"role": "admin"})
    operator.refresh_from_db()
    assert operator.is_admin
    admin_client.post(f"/settings/users/{operator.pk}/role/", {"role": "operator"})
    page = admin_client.post(f"/settings/users/{admin_user.pk}/role/", {"role": "operator"}).content.decode()
    assert "at least one active admin" in page
    admin_user.refresh_from_db()
    assert admin_user.is_admin
    page = admin_client.post(f"/settings/users/{admin_user.pk}/active/", {"on": "0"}).content.decode()
    assert "at least one active admin" in page
    assert User.objects.get(pk=admin_user.pk).is_active
    for bad in ("", "superuser", "admin\x00", "9" * 5000):
        assert (
            "Choose admin or operator"
            in admin_client.post(f"/settings/users/{operator.pk}/role/", {"role": bad}).content.decode()
        )


def test_a_deactivated_user_is_signed_out_and_can_be_reactivated(admin_client, operator):
    client = Client()  # the operator's browser, beside the admin's
    client.force_login(operator)
    assert client.get("/inbox/").status_code == 200
    admin_client.post(f"/settings/users/{operator.pk}/active/", {"on": "0"})
    assert client.get("/inbox/").status_code == 302  # to the login page
    assert not client.login(username=operator.username, password="pw-operator-1")
    admin_client.post(f"/settings/users/{operator.pk}/active/", {"on": "1"})
    assert client.login(username=operator.username, password="pw-operator-1")


def test_a_new_password_replaces_the_old_one_and_is_never_shown(admin_client, operator):
    client = Client()
    url = f"/settings/users/{operator.pk}/password/"
    weak = admin_client.post(url, {"password": "otto"}).content.decode()
    assert "too short" in weak and 'value="otto"' not in weak
    page = admin_client.post(url, {"password": STRONG}).content.decode()
    assert "New password set for otto" in page and STRONG not in page
    assert not client.login(username="otto", password="pw-operator-1")
    assert client.login(username="otto", password=STRONG)


def test_an_admin_who_sets_their_own_password_stays_signed_in(admin_client, admin_user):
    admin_client.post(f"/settings/users/{admin_user.pk}/password/", {"password": STRONG})
    assert admin_client.get("/settings/users/").status_code == 200


def test_operators_cannot_manage_users(operator_client, admin_user):
    assert operator_client.get("/settings/users/").status_code == 403
    assert (
        operator_client.post(f"/settings/users/{admin_user.pk}/role/", {"role": "operator"}).status_code
        == 403
    )
    assert (
        operator_client.post(f"/settings/users/{admin_user.pk}/password/", {"password": STRONG}).status_code
        == 403
    )
    assert User.objects.get(pk=admin_user.pk).is_admin and User.objects.get(pk=admin_user.pk).check_password(
        "pw-admin-1"
    )
    assert (
        admin_user.pk
        and operator_client.post("/settings/users/999999/active/", {"on": "0"}).status_code == 403
    )
