"""Pushed updates (crm.live): what is published and when, and the streams that carry it to open pages."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from accounts import services as account_services
from accounts.models import Account
from crm import live
from inbox import live as inbox_live
from tests.support.live import EventStream, patterns_subscribed, subscribers
from tests.support.processes import wait_for, web_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listen():
    """Subscribe to channels in this test; ``heard()`` returns the messages published since."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)

    def start(*channels: str):
        pubsub.subscribe(*channels)
        while pubsub.get_message(timeout=0.2) is not None:
            pass

        def heard(wait: float = 0.5) -> list[tuple[str, dict]]:
            got = []
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                message = pubsub.get_message(timeout=0.1)
                if message is not None:
                    got.append((message["channel"].decode(), json.loads(message["data"])))
            return got

        return heard

    yield start
    pubsub.close()
    client.close()


# --- publishing -----------------------------------------------------------------------------------------


def test_a_bump_publishes_on_the_accounts_channel_only_after_the_commit(make_account, listen):
    account = make_account()
    heard = listen(live.account_channel(account.pk))
    with transaction.atomic():
        inbox_live.bump([account.pk, account.pk])
        assert heard() == []  # nothing leaves before the rows are visible to the page that re-fetches
    assert heard() == [(live.account_channel(account.pk), {"event": "inbox", "account": account.pk})]


def test_a_rolled_back_change_publishes_nothing(make_account, listen):
    account = make_account()
    heard = listen(live.account_channel(account.pk), live.fleet_channel())
    with pytest.raises(RuntimeError), transaction.atomic():
        inbox_live.bump([account.pk])
        account_services.account_transition(account_id=account.pk, to=Account.Status.DISABLED, force=True)
        raise RuntimeError("the change fails after both were asked for")
    assert heard() == []
    assert inbox_live.version([account.pk]) == 0


def test_a_status_change_publishes_on_the_fleet_channel_after_the_commit(make_account, listen):
    account = make_account(status=Account.Status.ACTIVE)
    heard = listen(live.fleet_channel())
    account_services.account_transition(account_id=account.pk, to=Account.Status.DISABLED, reason="by hand")
    assert heard() == [(live.fleet_channel(), {"event": "fleet", "account": account.pk})]


def test_granting_or_revoking_an_account_tells_that_operators_streams(
    make_account, operator, outsider, listen
):
    account = make_account()
    heard = listen(live.user_channel(operator.pk), live.user_channel(outsider.pk))
    account.operators.add(operator)
    assert [c for c, _ in heard()] == [live.user_channel(operator.pk)]
    outsider.granted_accounts.add(account)  # from the user's side, as the admin site may
    assert [c for c, _ in heard()] == [live.user_channel(outsider.pk)]
    account_services.account_operators_set(account=account, operators=[outsider])
    assert [c for c, _ in heard()] == [live.user_channel(operator.pk)]
    account.operators.clear()
    assert [c for c, _ in heard()] == [live.user_channel(outsider.pk)]


def test_channels_carry_this_deployments_prefix():
    assert live.account_channel(7) == f"{settings.CACHE_KEY_PREFIX}:live:account:7"
    assert live.fleet_channel().startswith(f"{settings.CACHE_KEY_PREFIX}:")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"event": "inbox\\ndata: x"}', b'{"event": "inbox", "account": "1\\n\\nevent: x"}',
     b'{"event": "inbox", "account": true}', b'{"event": "\\u0000"}', b"\xff\xfe"],
)  # fmt: skip
def test_a_malformed_message_never_reaches_the_browser_as_an_event(raw):
    assert live._sse(raw) == b": unreadable event\n\n"


# --- the stream -----------------------------------------------------------------------------------------


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def web(tmp_path):
    with web_server(log_path=tmp_path / "web.log") as url:
        yield url


def test_anonymous_visitors_get_no_stream_and_operators_no_fleet_stream(web, operator):
    anonymous = EventStream(web, "/inbox/stream/", session="nobody")
    assert anonymous.status == 302 and "/login/" in anonymous.headers["location"]
    anonymous.close()
    fleet = EventStream(web, "/accounts/stream/", session=_session(operator))
    assert fleet.status == 403
    fleet.close()


def test_an_operator_hears_only_the_accounts_granted_to_them(web, make_account, operator):
    mine, theirs = make_account(), make_account()
    mine.operators.add(operator)
    stream = EventStream(web, "/inbox/stream/", session=_session(operator))
    assert stream.status == 200 and stream.headers["content-type"] == "text/event-stream"
    assert stream.next_event(timeout=0.5) is None and stream.retry == str(live.RETRY_MS)
    wait_for(lambda: subscribers(live.account_channel(mine.pk)) == 1, timeout=10, what="the subscription")
    inbox_live.bump([theirs.pk])
    inbox_live.bump([mine.pk])
    assert stream.events_until_quiet() == [live_event("inbox", mine.pk)]
    assert subscribers(live.account_channel(theirs.pk)) == 0
    stream.close()


def test_an_admin_hears_every_account_and_the_fleet(web, make_account, admin_user):
    one, two = make_account(), make_account()
    inbox = EventStream(web, "/inbox/stream/", session=_session(admin_user))
    fleet = EventStream(web, "/accounts/stream/", session=_session(admin_user))
    assert inbox.next_event(timeout=0.5) is None and fleet.next_event(timeout=0.5) is None
    wait_for(lambda: subscribers(live.fleet_channel()) == 1, timeout=10, what="the fleet subscription")
    inbox_live.bump([one.pk, two.pk])
    account_services.account_transition(account_id=one.pk, to=Account.Status.DISABLED, force=True)
    assert inbox.events_until_quiet() == [live_event("inbox", one.pk), live_event("inbox", two.pk)]
    assert fleet.events_until_quiet() == [live_event("fleet", one.pk)]
    inbox.close()
    fleet.close()


def test_a_revoked_operator_stops_hearing_the_account_at_once(web, make_account, operator):
    account = make_account()
    account.operators.add(operator)
    session = _session(operator)
    stream = EventStream(web, "/inbox/stream/", session=session)
    wait_for(lambda: subscribers(live.account_channel(account.pk)) == 1, timeout=10, what="the subscription")
    account.operators.remove(operator)
    assert stream.events_until_quiet(quiet=3) == []
    assert stream.closed  # the server ended it: the browser reconnects with the rights of now
    wait_for(
        lambda: subscribers(live.account_channel(account.pk)) == 0, timeout=10, what="the unsubscription"
    )
    again = EventStream(web, "/inbox/stream/", session=session)
    assert again.next_event(timeout=0.5) is None
    inbox_live.bump([account.pk])
    assert again.events_until_quiet() == []
    again.close()


@pytest.mark.parametrize("change", ["demoted", "deactivated"])
def test_an_admin_demoted_or_deactivated_stops_hearing_at_once(web, make_account, admin_user, change):
    account = make_account()
    stream = EventStream(web, "/inbox/stream/", session=_session(admin_user))
    wait_for(lambda: subscribers(live.user_channel(admin_user.pk)) == 1, timeout=10, what="the stream")
    wait_for(lambda: patterns_subscribed() >= 1, timeout=10, what="every account's pattern")
    inbox_live.bump([account.pk])
    assert stream.next_event(timeout=5) == live_event("inbox", account.pk)
    if change == "demoted":
        admin_user.role = admin_user.Role.OPERATOR
    else:
        admin_user.is_active = False
    admin_user.save()
    assert stream.events_until_quiet(quiet=3) == []
    assert stream.closed  # not at the stream's five-minute end: now
    stream.close()


def test_a_login_saves_the_user_without_ending_their_streams(web, make_account, operator, listen):
    heard = listen(live.user_channel(operator.pk))
    operator.last_name = "Renamed"
    operator.save()
    operator.save(update_fields=["last_login"])
    assert heard() == []


def test_a_closed_browser_releases_its_subscription(web, make_account, admin_user, operator):
    account = make_account()
    account.operators.add(operator)
    streams = [EventStream(web, "/inbox/stream/", session=_session(operator)) for _ in range(3)]
    admin = EventStream(web, "/inbox/stream/", session=_session(admin_user))
    # Three pages, one subscription: the web process shares its Redis connection among its streams.
    wait_for(lambda: subscribers(live.account_channel(account.pk)) == 1, timeout=10, what="one subscription")
    wait_for(lambda: subscribers(live.user_channel(admin_user.pk)) == 1, timeout=10, what="the admin's")
    for stream in streams[:2]:
        stream.close()
    time.sleep(0.5)
    assert subscribers(live.account_channel(account.pk)) == 1  # the third page still listens
    inbox_live.bump([account.pk])
    assert streams[2].next_event(timeout=5) == live_event("inbox", account.pk)
    streams[2].close()
    wait_for(
        lambda: subscribers(live.account_channel(account.pk)) == 0, timeout=10, what="no subscription left"
    )
    wait_for(
        lambda: subscribers(live.user_channel(operator.pk)) == 0, timeout=10, what="no rights subscription"
    )
    admin.close()
    wait_for(
        lambda: subscribers(live.user_channel(admin_user.pk)) == 0, timeout=10, what="the admin's released"
    )


def test_many_pages_share_one_redis_connection_and_a_lost_one_ends_their_streams(web, make_account, operator):
    account = make_account()
    account.operators.add(operator)
    channel = live.account_channel(account.pk)
    client = redis.Redis.from_url(settings.REDIS_URL)

    def web_subscribers() -> list[dict]:
        return [c for c in client.client_list(_type="pubsub") if c["name"] == live.subscriber_name()]

    streams = [EventStream(web, "/inbox/stream/", session=_session(operator)) for _ in range(20)]
    wait_for(lambda: subscribers(channel) == 1, timeout=10, what="the shared subscription")
    assert len(web_subscribers()) == 1
    inbox_live.bump([account.pk])
    assert all(s.next_event(timeout=5) == live_event("inbox", account.pk) for s in streams)
    # Redis drops the web process's subscriber (as a Redis restart would): every stream ends, so the
    # pages reconnect (and poll meanwhile) instead of waiting on a dead subscription.
    for info in web_subscribers():
        client.client_kill_filter(_id=info["id"])
    for stream in streams:
        stream.events_until_quiet(quiet=3)
        assert stream.closed
        stream.close()
    again = EventStream(web, "/inbox/stream/", session=_session(operator))
    wait_for(lambda: subscribers(channel) == 1, timeout=10, what="a fresh subscription")
    inbox_live.bump([account.pk])
    assert again.next_event(timeout=5) == live_event("inbox", account.pk)
    again.close()
    client.close()


def test_an_idle_stream_sends_heartbeats_and_ends_after_its_maximum_age(tmp_path, make_account, operator):
    make_account().operators.add(operator)
    env = {"LIVE_STREAM_MAX_AGE": "2", "LIVE_HEARTBEAT": "0.4"}
    with web_server(log_path=tmp_path / "web.log", env=env) as url:
        stream = EventStream(url, "/inbox/stream/", session=_session(operator))
        assert stream.events_until_quiet(quiet=6) == []
        assert stream.closed
        assert stream.comments[0] == "live" and set(stream.comments[1:]) == {"heartbeat"}
        assert len(stream.comments) >= 3
        stream.close()


def live_event(name: str, account_id: int):
    from tests.support.live import Event

    return Event(name, str(account_id))


def test_a_server_that_cannot_hold_a_stream_tells_the_browser_to_poll(operator_client):
    # The test client is WSGI, like a development server: a stream there would never start.
    assert operator_client.get("/inbox/stream/").status_code == 204


def test_a_reconnect_storm_waits_for_the_web_processs_few_connections(tmp_path, make_account, operator):
    # Every page reconnects at once (after a restart of the web process). With a pool of 3 connections,
    # 120 stream requests queue for them instead of opening 120 (in the hundreds, PostgreSQL refuses
    # them: "too many clients"). Each lets its connection go once the stream is open: were a stream to
    # keep it, the fourth would wait for one in vain and fail.
    make_account().operators.add(operator)
    session = _session(operator)
    with web_server(log_path=tmp_path / "web.log", env={"DATABASE_POOL_MAX": "3"}) as url:

        def reconnect(_: int) -> EventStream:
            return EventStream(url, "/inbox/stream/", session=session)

        with ThreadPoolExecutor(max_workers=40) as pool:
            streams = list(pool.map(reconnect, range(120)))
        assert [s.status for s in streams] == [200] * 120
        assert _other_connections() <= 3
        for stream in streams:
            stream.close()


def _other_connections() -> int:
    """Connections to this test's database other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])
