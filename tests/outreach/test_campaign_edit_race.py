"""An edit and a tick never interleave: the edit waits for the planning lock a tick holds, and the tick
after it plans under the new settings only (real PostgreSQL advisory locks, two connections)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count

from accounts.models import Account
from outreach import planner, services
from outreach.models import Send
from tests.support import outreach as build
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def waiting_for_the_planning_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [services.PLANNING_LOCK & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0] > 0


def test_an_edit_waits_for_a_tick_in_progress_and_the_next_tick_obeys_it(make_account):
    senders = [make_account(status=Account.Status.ACTIVE) for _ in range(2)]
    for account in senders:
        build.generous_limits(account)
    campaign = build.campaign(build.audience(build.contacts(20)), senders, cap=8, gap_min=600, gap_max=600)
    services.campaign_start(campaign=campaign)

    holding, release, edited = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def tick_that_holds_the_lock() -> None:
        try:
            with transaction.atomic():
                services.planning_lock()
                planner.campaign_tick(campaign_id=campaign.pk, now=NOON, rng=random.Random(1))
                holding.set()
                release.wait(30)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def edit() -> None:
        try:
            campaign.refresh_from_db()
            services.campaign_update(
                campaign=campaign,
                template=campaign.template,
                follow_ups=[],
                senders=senders,
                daily_cap=2,
                gap_min=600,
                gap_max=600,
            )
            edited.set()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    ticker = threading.Thread(target=tick_that_holds_the_lock)
    ticker.start()
    assert holding.wait(30)
    editor = threading.Thread(target=edit)
    editor.start()
    wait_for(waiting_for_the_planning_lock, timeout=30, what="the edit to wait for the planning lock")
    assert not edited.is_set()  # it waits: nothing of the edit is written while the tick plans
    release.set()
    ticker.join(30)
    editor.join(30)
    assert not errors, errors
    assert edited.is_set()
    # The tick planned 8 a sender; the edit dropped what was only planned (not the 1 queued each).
    assert Send.objects.filter(campaign=campaign, state="planned").count() == 0
    planner.campaign_tick(campaign_id=campaign.pk, now=NOON + timedelta(seconds=1), rng=random.Random(2))
    per_sender = dict(
        Send.objects.filter(campaign=campaign)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    assert per_sender == {senders[0].pk: 2, senders[1].pk: 2}
