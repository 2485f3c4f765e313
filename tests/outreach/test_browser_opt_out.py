"""Do not contact and campaigns beside the inbox, in Chromium against a real session host and tgsim.

Screenshots go to test-artifacts/outreach/."""

from __future__ import annotations

import os

import pytest

from accounts import budgets
from inbox.models import Conversation
from outreach import planner, services
from outreach.models import Campaign, Send
from tests.outreach.test_browser import Beat
from tests.support import outreach as build
from tests.support.accounts import ready_account
from tests.support.browser import logged_in_page
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sender(tgsim, api_app, operator, name):
    account, user_id = ready_account(tgsim, api_app, first_name=name)
    build.generous_limits(account)
    budgets.reset(account_id=account.pk)  # buckets live in a Redis shared with other test processes
    account.operators.add(operator)
    return account, user_id


def _connected(account):
    return lambda: type(account).objects.filter(pk=account.pk, telegram_id__isnull=False).exists()


def test_an_opt_out_from_the_conversation_is_honoured_by_a_running_campaign(
    chromium, live_server, operator, tgsim, browser_host_env, api_app, tmp_path, artifacts
):
    sender, sender_uid = _sender(tgsim, api_app, operator, "Harbour")
    ann, bob, cat = build.sim_people(tgsim, 3, prefix=f"opt{sender.pk}x{tmp_path.name[-6:]}")

    # Bob wrote to the account before: "please stop". The inbox flags it on ingestion.
    with session_host("optout-a", log_path=tmp_path / "host-a.log", env=browser_host_env):
        wait_for(_connected(sender), timeout=30, what="the sender to connect")
        tgsim.world_call("say", bob.telegram_id, to_user_id=sender_uid, text="Please STOP sending me offers")
        wait_for(
            lambda: Conversation.objects.filter(account=sender, opt_out_flag="stop").exists(),
            timeout=30,
            what="the opt-out words to be flagged",
        )
        wait_for(lambda: build.backfilled([sender]), timeout=60, what="the first backfill")

    # The campaign runs: its three first messages are queued for the account while no host holds it
    # (they wait in the account's queue; Bob was not opted out when they were planned).
    campaign = build.campaign(build.audience([ann, bob, cat], name="Harbour leads"), [sender], cap=10)
    services.campaign_start(campaign=campaign)
    planner.campaign_tick(campaign_id=campaign.pk)
    assert Send.objects.filter(campaign=campaign, state=Send.State.QUEUED).count() == 3

    # The operator sees the flag in Bob's conversation and opts him out with one click.
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    bobs = Conversation.objects.get(account=sender, peer_id=bob.telegram_id)
    page.goto(f"/inbox/c/{bobs.pk}/")
    flag = page.locator(".opt-out-flag")
    assert "“stop”" in flag.inner_text()
    assert "Opt-out words: “stop”" in page.inner_text("#history")
    page.screenshot(path=str(artifacts / "opt-out-flagged.png"), full_page=True)
    page.click("#opt-out button:has-text('Do not contact')")
    page.wait_for_selector(".opt-out-state:has-text('Do not contact.')")
    assert "Wrote: stop" in page.inner_text(".opt-out-state")
    page.screenshot(path=str(artifacts / "opt-out-recorded.png"), full_page=True)

    # The host picks the queued sends up: Bob's is refused at claim time, the others go.
    beat = Beat()
    with session_host("optout-b", log_path=tmp_path / "host-b.log", env=browser_host_env):
        beat.start()
        try:
            wait_for(
                lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.FINISHED,
                timeout=90,
                interval=0.5,
                what="the campaign to finish",
            )
        finally:
            beat.halt.set()
            beat.join(10)
    states = dict(Send.objects.filter(campaign=campaign).values_list("recipient__contact_id", "state"))
    assert states == {ann.pk: "sent", bob.pk: "skipped", cat.pk: "sent"}
    assert Send.objects.get(campaign=campaign, recipient__contact=bob).reason == "Opted out"
    got = build.received(tgsim, [ann, bob, cat], [sender_uid])
    assert [len(got[p.telegram_id]) for p in (ann, bob, cat)] == [1, 0, 1]
    context.close()


def test_the_open_queue_shows_a_campaign_conversation_only_once_the_person_answers(
    chromium, live_server, operator, tgsim, browser_host_env, api_app, tmp_path, artifacts, settings
):
    # Live updates: the session host and the page's server must count in the same Redis key, one of our
    # own (tests/inbox/conftest.py puts another in the environment when it is collected too).
    live_key = settings.INBOX_LIVE_KEY = f"test{os.getpid()}:outreach:inbox:versions"
    host_env = {**browser_host_env, "INBOX_LIVE_KEY": live_key}
    sender, sender_uid = _sender(tgsim, api_app, operator, "Quay")
    ann, bob = build.sim_people(tgsim, 2, prefix=f"oq{sender.pk}x{tmp_path.name[-6:]}")
    campaign = build.campaign(build.audience([ann, bob], name="Quay leads"), [sender], cap=10)
    Campaign.objects.filter(pk=campaign.pk).update(name="Quay spring offer")
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    beat = Beat()
    with session_host("openq", log_path=tmp_path / "host.log", env=host_env):
        wait_for(_connected(sender), timeout=30, what="the sender to connect")
        services.campaign_start(campaign=Campaign.objects.get(pk=campaign.pk))
        beat.start()
        try:
            wait_for(
                lambda: Send.objects.filter(campaign=campaign, state="sent").count() == 2,
                timeout=60,
                interval=0.5,
                what="both first messages to go",
            )
            # A send is marked sent when Telegram answers; its conversation is stored just after.
            wait_for(
                lambda: Conversation.objects.filter(account=sender).count() == 2,
                timeout=30,
                what="both conversations to be stored",
            )
            convos = {c.peer_id: c for c in Conversation.objects.filter(account=sender)}
            assert all(c.outreach_pending for c in convos.values())
            page.goto("/inbox/")
            page.wait_for_timeout(1500)  # a few live polls: nothing may appear
            assert page.locator(".conv-row").count() == 0
            page.goto("/inbox/?state=outreach")
            page.wait_for_selector(f"#conv-{convos[ann.telegram_id].pk}")
            assert "Quay spring offer" in page.inner_text(f"#conv-{convos[ann.telegram_id].pk}")

            page.goto("/inbox/")
            tgsim.world_call("say", ann.telegram_id, to_user_id=sender_uid, text="Sounds good, tell me more")
            row = page.wait_for_selector(f"#conv-{convos[ann.telegram_id].pk}", timeout=20_000)
            assert "Sounds good" in row.inner_text()
            assert page.locator(".conv-row").count() == 1  # Bob has not answered
            page.screenshot(path=str(artifacts / "open-queue-after-answer.png"), full_page=True)
            page.reload()  # the filter offers campaigns someone answered, as of the page load
            page.select_option("select[name=campaign]", str(campaign.pk))
            page.wait_for_url(f"**campaign={campaign.pk}**")
            assert page.locator(".conv-row").count() == 1
            page.click(f"#conv-{convos[ann.telegram_id].pk}")
            page.wait_for_selector(".campaign-origin:has-text('Quay spring offer')")
            assert "Campaign: Quay spring offer" in page.inner_text("#history")
            wait_for(lambda: build.backfilled([sender]), timeout=60, what="the first backfill")
        finally:
            beat.halt.set()
            beat.join(10)
    context.close()
    from inbox.live import _redis

    _redis().delete(live_key)
