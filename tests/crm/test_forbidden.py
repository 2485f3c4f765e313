"""A 403 is a page in the layout that says why, and one line in the log (no traceback)."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from tests.support.processes import web_server


@pytest.mark.django_db
def test_an_operator_gets_a_403_page_in_the_layout(operator_client):
    response = operator_client.get(reverse("outreach:index"))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="mainnav"' in html and "This page is not open to you" in html
    assert "signed in as <strong>otto</strong> (operator)" in html
    assert reverse("inbox:index") in html


@pytest.mark.django_db
def test_a_403_is_logged_in_one_line_naming_the_user(operator_client, operator, caplog):
    caplog.set_level(logging.INFO, logger="django.request")
    operator_client.get(reverse("accounts:index"))
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].exc_info is None
    assert records[0].getMessage() == f"Forbidden (Permission denied): /accounts/, by user {operator.pk}"


@pytest.mark.django_db
def test_other_errors_keep_their_traceback(caplog):
    from django.core.exceptions import SuspiciousOperation

    from crm.logs import ForbiddenOneLine

    try:
        raise SuspiciousOperation("bad")
    except SuspiciousOperation:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, "", 0, "%s", ("x",), sys.exc_info())
    assert ForbiddenOneLine().filter(record) and record.exc_info is not None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_403_page_in_the_browser_from_the_real_web_process(chromium, operator, tmp_path):
    log_path = tmp_path / "web.log"
    with web_server(log_path=log_path) as url:
        context = chromium.new_context(base_url=url)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", operator.username)
        page.fill("input[name=password]", "pw-operator-1")
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox/")
        response = page.goto("/outreach/")
        assert response is not None and response.status == 403
        assert page.locator("nav.mainnav a:has-text('Inbox')").count() == 1
        assert "This page is not open to you" in page.inner_text("#forbidden")
        page.click("#forbidden a:has-text('Back to the inbox')")
        page.wait_for_url("**/inbox/")
        context.close()
    log = log_path.read_text()
    forbidden = [line for line in log.splitlines() if "Forbidden" in line]
    assert len(forbidden) == 1, log
    assert "Traceback" not in log, log
    assert "/outreach/, by user" in forbidden[0]
