"""Accounts that need an admin reach the admin webhook when one is configured."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from accounts.models import Account
from accounts.services import account_transition
from crm.celery import app

pytestmark = pytest.mark.django_db
S = Account.Status


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture
def eager_celery():
    # The alert is a Celery task; run it in place rather than start a worker on the shared broker.
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_banned_reauth_and_spam_limited_accounts_are_posted_to_the_webhook(
    settings, webhook, eager_celery, make_account, django_capture_on_commit_callbacks
):
    url, received = webhook
    settings.ALERT_WEBHOOK_URL = url
    accounts = [make_account(status=S.ACTIVE) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        account_transition(account_id=accounts[0].pk, to=S.BANNED, reason="USER_DEACTIVATED_BAN")
        account_transition(account_id=accounts[1].pk, to=S.REAUTH_REQUIRED, reason="SESSION_REVOKED")
        account_transition(account_id=accounts[2].pk, to=S.SPAM_LIMITED, reason="PEER_FLOOD")
        account_transition(account_id=accounts[2].pk, to=S.COOLDOWN, reason="FLOOD_WAIT")  # not an alert
    assert [(r["account_id"], r["status"]) for r in received] == [
        (accounts[0].pk, S.BANNED),
        (accounts[1].pk, S.REAUTH_REQUIRED),
        (accounts[2].pk, S.SPAM_LIMITED),
    ]
    assert set(received[0]) == {"account_id", "phone", "name", "status", "reason"}  # nothing secret
