"""An admin opens the reports in Chromium, switches the range and downloads a CSV.

Screenshots go to test-artifacts/reports/."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account
from tests.reports.timeline import Chat
from tests.support.browser import artifacts_dir, logged_in_page
from tests.support.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("reports")


def _wait_for_chart(page) -> None:
    """Polled from here: Playwright's wait_for_function evaluates strings, which the CSP rightly refuses."""
    drawn = "() => document.getElementById('response-histogram')?.chart !== undefined"
    wait_for(lambda: page.evaluate(drawn), timeout=30, interval=0.2, what="the chart to be drawn")


def test_an_admin_opens_the_reports_switches_the_range_and_downloads_a_csv(
    chromium, live_server, admin_user, make_account
):
    account = make_account(status=Account.Status.ACTIVE)
    Account.objects.filter(pk=account.pk).update(first_name="Harbour Desk")
    now = datetime.now(UTC)
    for n, days_ago in enumerate((2, 3, 20)):  # two answers this week, a third only in the 30-day range
        chat = Chat(account, telegram_id=95_000 + n)
        chat.inbound(now - timedelta(days=days_ago))
        chat.human(now - timedelta(days=days_ago) + timedelta(minutes=10), by=admin_user)

    context, page = logged_in_page(chromium, live_server, admin_user.username, "pw-admin-1")
    page.click("nav.mainnav >> text=Reports")
    page.wait_for_url("**/reports/")
    assert page.inner_text("[data-card=first_responses]") == "2"
    _wait_for_chart(page)
    page.screenshot(path=str(ARTIFACTS / "reports-7d.png"), full_page=True)

    page.click("[data-range='30d']")
    page.wait_for_selector("[data-range='30d'][aria-current]")
    assert page.inner_text("[data-card=first_responses]") == "3"
    assert "range=30d" in page.url
    _wait_for_chart(page)
    bars = page.evaluate("document.getElementById('response-histogram').chart.data.datasets[0].data")
    assert bars == [0, 3, 0, 0, 0, 0]  # 10 minutes each: the 5-15 min bucket
    page.screenshot(path=str(ARTIFACTS / "reports-30d.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#report section:has(#team-table) a.csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert download.value.suggested_filename == "team-by-account-30d.csv"
    assert [(r["Name"], r["First response count"], r["First response median"]) for r in rows] == [
        ("Harbour Desk", "3", "600.0")
    ]
    context.close()


def test_the_reports_and_their_chart_pass_the_content_security_policy(
    chromium, live_server, admin_user, make_account, settings, monkeypatch
):
    from tests.crm.test_browser_csp import RECORD_VIOLATIONS
    from tests.support.security import production

    production(monkeypatch, settings)
    account = make_account(status=Account.Status.ACTIVE)
    chat = Chat(account, telegram_id=96_000)
    now = datetime.now(UTC)
    chat.inbound(now - timedelta(hours=2))
    chat.human(now - timedelta(hours=1), by=admin_user)
    context, page = logged_in_page(chromium, live_server, admin_user.username, "pw-admin-1")
    context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    response = page.goto("/reports/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _wait_for_chart(page)
    page.click("[data-range='90d']")
    page.wait_for_selector("[data-range='90d'][aria-current]")
    _wait_for_chart(page)

    assert page.evaluate("window.__violations") == []
    assert [text for text in console if "Content Security Policy" in text] == []
    context.close()
