"""Presence (crm.presence): a signed-in user's requests mark them seen, at most one write a minute;
online means seen within USER_ONLINE_MINUTES."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import presence
from crm.models import User

pytestmark = pytest.mark.django_db


def test_a_request_marks_the_user_seen_once_a_minute(operator, operator_client):
    assert operator.last_seen_at is None and not presence.is_online(operator)
    operator_client.get("/inbox/")
    operator.refresh_from_db()
    first = operator.last_seen_at
    assert first is not None and presence.is_online(operator)
    with CaptureQueriesContext(connection) as queries:
        operator_client.get("/inbox/")
    assert not [q for q in queries if "last_seen_at" in q["sql"] and q["sql"].startswith("UPDATE")]
    User.objects.filter(pk=operator.pk).update(last_seen_at=timezone.now() - timedelta(minutes=2))
    operator_client.get("/inbox/")
    operator.refresh_from_db()
    assert operator.last_seen_at > first


def test_online_ends_after_the_window_and_for_deactivated_users(operator, settings):
    settings.USER_ONLINE_MINUTES = 10
    operator.last_seen_at = timezone.now() - timedelta(minutes=9)
    assert presence.is_online(operator)
    operator.last_seen_at = timezone.now() - timedelta(minutes=11)
    assert not presence.is_online(operator)
    operator.last_seen_at = timezone.now()
    operator.is_active = False
    assert not presence.is_online(operator)


def test_the_sign_in_page_marks_nobody(client):
    client.get("/login/")
    assert not User.objects.filter(last_seen_at__isnull=False).exists()
