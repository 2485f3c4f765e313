"""Login throttling: every way in is counted, per (username as authentication sees it, client address),
with a delay that grows instead of a wall, and forwarded addresses believed only from trusted proxies."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
FULLWIDTH_ADA = "\uff41\uff44\uff41"  # NFKC turns it into "ada"
RIGHT = "pw-admin-1"


@pytest.fixture(autouse=True)
def _throttle(settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    settings.LOGIN_THROTTLE_DELAY = 1.0
    settings.LOGIN_THROTTLE_MAX_DELAY = 60.0
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]


def login(client, username, password, *, path="/login/", **headers):
    return client.post(path, {"username": username, "password": password}, **headers)


def fail(client, times, username="ada", **headers):
    for _ in range(times):
        response = login(client, username, "wrong", **headers)
        assert response.status_code == 200, "a failure within the free attempts is an ordinary error"


def test_it_refuses_the_right_password_during_the_delay_and_says_when_to_retry(client, admin_user, settings):
    settings.LOGIN_THROTTLE_DELAY = 30.0
    fail(client, 3)
    response = login(client, "ada", RIGHT)
    assert response.status_code == 429
    assert 28 <= int(response["Retry-After"]) <= 30
    html = response.content.decode()
    assert "Too many failed attempts. Try again in" in html and "seconds" in html
    assert client.get(reverse("inbox:index")).status_code == 302, "not logged in"


def test_it_lets_the_right_password_in_once_the_delay_is_over(client, admin_user):
    fail(client, 3)
    assert login(client, "ada", RIGHT).status_code == 429
    time.sleep(1.2)
    assert login(client, "ada", RIGHT).status_code == 302


def test_the_delay_grows_with_every_failure_past_the_free_ones(client, admin_user):
    waits = []
    fail(client, 2)
    for _ in range(3):
        assert login(client, "ada", "wrong").status_code == 200  # counted, and starts a wait
        refused = login(client, "ada", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        time.sleep(waits[-1] + 0.2)
    assert waits == [1, 2, 4]


def test_django_admin_login_is_counted_too(client, admin_user):
    for _ in range(3):
        assert login(client, "ada", "wrong", path="/admin/login/").status_code == 200
    refused = login(client, "ada", RIGHT, path="/admin/login/")
    assert refused.status_code == 429
    assert "Too many failed attempts" in refused.content.decode()
    # And it is one counter with the main login page.
    assert login(client, "ada", RIGHT).status_code == 429


def test_usernames_that_authenticate_as_one_user_share_one_counter(client, admin_user, operator):
    # Django's UsernameField applies NFKC: the fullwidth spelling logs in as "ada".
    assert login(client, FULLWIDTH_ADA, RIGHT).status_code == 302
    client.post(reverse("logout"))
    fail(client, 2, username=FULLWIDTH_ADA)
    fail(client, 1, username=" ada ")
    assert login(client, "ada", RIGHT).status_code == 429
    assert login(client, "otto", "pw-operator-1").status_code == 302, "other users are not slowed down"


def test_a_differently_cased_username_is_another_user_with_its_own_counter(client, admin_user):
    # Our User model matches usernames case-sensitively, so "ADA" never logs in as "ada" and guessing
    # at "ADA" must not slow "ada" down.
    assert login(client, "ADA", RIGHT).status_code == 200
    fail(client, 2, username="ADA")
    assert login(client, "ADA", RIGHT).status_code == 429
    assert login(client, "ada", RIGHT).status_code == 302


def test_one_address_behind_the_proxy_does_not_lock_out_another(client, admin_user, operator):
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    colleague = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    fail(client, 3, **attacker)
    assert login(client, "ada", RIGHT, **attacker).status_code == 429
    # The same user from another client behind the same proxy, and another user, still get in.
    assert login(client, "ada", RIGHT, **colleague).status_code == 302
    client.post(reverse("logout"))
    assert login(client, "otto", "pw-operator-1", **attacker).status_code == 302


def test_a_spoofed_forwarded_address_from_an_untrusted_peer_is_ignored(client, admin_user):
    for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        # Each attempt claims another address, but the peer is not a trusted proxy: all count as it.
        response = login(client, "ada", "wrong", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=spoof)
        assert response.status_code == 200
    refused = login(client, "ada", RIGHT, REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="4.4.4.4")
    assert refused.status_code == 429


def test_a_client_cannot_prepend_addresses_through_a_trusted_proxy(client, admin_user):
    # The proxy appends the real peer; whatever the client sent comes first and is not believed.
    for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        forwarded = f"{spoof}, 203.0.113.9"
        fail(client, 1, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    refused = login(client, "ada", RIGHT, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9")
    assert refused.status_code == 429
